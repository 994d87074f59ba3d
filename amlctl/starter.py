"""`amlctl init`: a commented starter manifest that validates as written, for a data-subject
request, a workspace export or a teardown; and the shipped schemas for editors.

The starter is a template filled with YAML-quoted values (json.dumps gives a valid YAML flow
scalar for any string), then checked by the same loader `amlctl validate` uses, so a starter
that does not validate is never written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path

from amlctl.errors import UsageError

SCHEMAS = ("manifest", "catalog", "plan")
STARTERS = ("dsr", "export", "teardown")
PLACEHOLDER_ID = "00000000-0000-0000-0000-000000000000"


def schema_text(name: str) -> str:
    """The shipped `schemas/<name>.schema.json`, as it is in the package."""
    if name not in SCHEMAS:
        raise UsageError(f"no schema {name!r}: choose one of {', '.join(SCHEMAS)}")
    resource = resources.files("amlctl.schemas").joinpath(f"{name}.schema.json")
    return resource.read_text("utf-8")


@dataclass(frozen=True)
class Workspace:
    subscription: str
    resource_group: str
    workspace: str
    location: str


def starter(kind: str, ws: Workspace, request_id: str, received: date) -> str:
    """The starter manifest of `kind` (dsr, export or teardown) for one workspace."""
    if kind not in STARTERS:
        raise UsageError(f"--kind {kind!r}: choose one of {', '.join(STARTERS)}")
    q = json.dumps
    name = request_id.lower() if kind == "dsr" else f"{ws.workspace.lower()}-{kind}"
    head = _HEAD.format(
        name=q(name), sub=q(ws.subscription), rg=q(ws.resource_group), ws=q(ws.workspace),
        loc=q(ws.location),
    )
    body = {"dsr": _DSR, "export": _EXPORT, "teardown": _TEARDOWN}[kind]
    return head + body.format(
        id=q(request_id), received=q(received.isoformat()), name=name, ws=q(ws.workspace),
        placeholder=q(PLACEHOLDER_ID),
    )


def default_path(kind: str, ws: Workspace, request_id: str) -> Path:
    stem = request_id.lower() if kind == "dsr" else f"{ws.workspace.lower()}-{kind}"
    return Path("manifests") / f"{stem}.yaml"


_HEAD = """\
# yaml-language-server: $schema=manifest.schema.json
#
# An amlctl manifest: what to export from, or delete in, Azure ML workspaces. Check it with
# `amlctl validate`, see what it would do with `amlctl plan` (reads only), and apply the plan
# once it is reviewed. Every key is in docs/manifest-reference.md; unknown keys are errors.
version: 1
name: {name}
catalog: azureml-current         # today's API; azureml-2019-11-01 for SDK v1 era workspaces
workspaces:                      # every selector below applies to each workspace
  - subscriptionId: {sub}
    resourceGroup: {rg}
    workspace: {ws}
    location: {loc}
"""

_DSR = """\
request:                         # the GDPR request this answers
  id: {id}
  received: {received}       # due one month later, unless `due:` says otherwise
  subject:
    userObjectId: {placeholder}   # the person's Entra object id (and/or userName)
export:
  to: exports/{name}             # a folder only the data-protection team can read
  select:
    - {{kind: job, subject: true}}        # jobs naming the subject (by display name: the plan
                                          # lists them as candidates to review; see the README)
    - {{kind: model_version, subject: true}}
delete:
  select:
    - {{kind: model_version, subject: true}}  # review the plan: a delete has no undo
    # - {{kind: job, subject: true, not: {{ids: [keep-this-job]}}}}   # all of hers but these
    # - {{kind: compute, subject: true, workspace: {ws}}}           # in one workspace only
limits:
  maxDeletes: 50                 # apply refuses a plan that deletes more
"""

_EXPORT = """\
export:
  to: exports/{name}
  select:
    - {{kind: job, all: true}}
    - {{kind: model_version, all: true}}
"""

_TEARDOWN = """\
delete:
  select:
    - {{kind: workspace, confirm: {ws}}}   # the whole workspace, and everything in it
limits:
  maxDeletes: 1000
"""
