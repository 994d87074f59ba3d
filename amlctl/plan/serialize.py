"""The plan file: `Plan` <-> plan document (format_version 1.1) <-> bytes on disk.

The file on disk is the document pretty-printed (indent 2, sorted keys, UTF-8, trailing newline).
Its `digest` is computed over the canonical JSON of the parsed document without `digest`
(sorted keys, no whitespace, UTF-8), so it does not depend on how the file is laid out and
verifies after any load. The digest catches edits and mangled merges and ties a pull-request
comment to its file; it is not a signature.

Nothing here reads the clock or the environment implicitly: `plan_timestamp` takes both.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

from amlctl.canonical import Made, canonical_json, compute_digest, pretty_json_chunks
from amlctl.errors import Diagnostic, PlanFileError, UsageError
from amlctl.fsio import write_file_atomic
from amlctl.plan import validation
from amlctl.plan.model import (
    Action,
    CatalogRef,
    Change,
    ExportState,
    InPlanOrder,
    ManifestRef,
    Method,
    Plan,
    RequestInfo,
    Target,
    TargetKind,
    WorkspaceRef,
)
from amlctl.plan.validation import FORMAT_VERSION
from amlctl.timestamps import rfc3339

__all__ = [
    "FORMAT_VERSION",
    "canonical_json",
    "change_doc",
    "compute_digest",
    "from_doc",
    "load_doc",
    "plan_timestamp",
    "to_doc",
    "write_plan",
]

def plan_timestamp(environ: Mapping[str, str], now: datetime) -> str:
    """The plan's `created` time: SOURCE_DATE_EPOCH when set (reproducible plans), else `now`."""
    epoch = environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        if not epoch.isdigit():
            raise UsageError(f"SOURCE_DATE_EPOCH must be whole seconds since 1970, not {epoch!r}")
        return rfc3339(datetime.fromtimestamp(int(epoch), UTC))
    if now.tzinfo is None:
        raise ValueError("plan_timestamp needs an aware datetime")
    return rfc3339(now)


def to_doc(plan: Plan) -> dict[str, Any]:
    """The plan document (format_version 1.1) of `plan`, with its summary and digest."""
    return _doc(plan, [change_doc(change) for change in plan.changes])


def _doc(
    plan: Plan, changes: list[dict[str, Any]] | Made, *, digest: bool = True
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "amlctl_version": plan.amlctl_version,
        "created": plan.created,
        "name": plan.name,
        "manifest": {"path": plan.manifest.path, "sha256": plan.manifest.sha256},
        "catalog": {
            "name": plan.catalog.name,
            "sha256": plan.catalog.sha256,
            "scope_kind": plan.catalog.scope_kind,
        },
        "target": {"kind": plan.target.kind, "endpoint": plan.target.endpoint},
        "request": _request_doc(plan.request),
        "workspaces": [_workspace_doc(ws) for ws in plan.workspaces],
        "export_to": plan.export_to,
        "limits": {"maxDeletes": plan.max_deletes},
        "changes": changes,
        "summary": {action.value: count for action, count in plan.summary.items()},
        "warnings": list(plan.warnings),
    }
    if digest:
        doc["digest"] = compute_digest(doc)
    return doc


def _request_doc(request: RequestInfo | None) -> dict[str, Any] | None:
    if request is None:
        return None
    return {
        "id": request.id,
        "received": request.received.isoformat(),
        "due": request.due.isoformat(),
        "subject": {"pseudonym": request.pseudonym},
    }


def _workspace_doc(ws: WorkspaceRef) -> dict[str, str]:
    return {
        "subscriptionId": ws.subscription_id,
        "resourceGroup": ws.resource_group,
        "workspace": ws.workspace,
        "location": ws.location,
    }


def change_doc(change: Change) -> dict[str, Any]:
    """The document of one change, as the plan file holds it."""
    doc: dict[str, Any] = {
        "address": change.address,
        "workspace": change.workspace,
        "kind": change.kind,
        "id": change.id,
        "name": change.name,
        "action": change.action.value,
        "export_state": change.export_state,
        "method": change.method,
        "url": change.url,
        "fingerprint": change.fingerprint,
        "file": change.file,
        "long_running": change.long_running,
        "after": list(change.after),
        "erasure": change.erasure,
        "reason": change.reason,
        "title": change.title,
        "instructions": change.instructions,
    }
    if change.check is not None:  # only where it differs from url: older plans stay the same
        doc["check"] = change.check
    if change.body is not None:
        doc["body"] = change.body
    return doc


def from_doc(doc: Mapping[str, Any]) -> Plan:
    """The `Plan` of a plan document that passed `validation.problems` (unknown keys ignored)."""
    request = doc["request"]
    return Plan(
        amlctl_version=doc["amlctl_version"],
        created=doc["created"],
        name=doc["name"],
        manifest=ManifestRef(path=doc["manifest"]["path"], sha256=doc["manifest"]["sha256"]),
        catalog=CatalogRef(
            name=doc["catalog"]["name"],
            sha256=doc["catalog"]["sha256"],
            scope_kind=doc["catalog"]["scope_kind"],
        ),
        target=Target(kind=cast(TargetKind, doc["target"]["kind"]),
                      endpoint=doc["target"]["endpoint"]),
        request=None if request is None else RequestInfo(
            id=request["id"],
            received=date.fromisoformat(request["received"]),
            due=date.fromisoformat(request["due"]),
            pseudonym=request["subject"]["pseudonym"],
        ),
        workspaces=tuple(
            WorkspaceRef(ws["subscriptionId"], ws["resourceGroup"], ws["workspace"],
                         ws["location"])
            for ws in doc["workspaces"]
        ),
        export_to=doc["export_to"],
        max_deletes=doc["limits"]["maxDeletes"],
        changes=tuple(_change_from_doc(change) for change in doc["changes"]),
        warnings=tuple(doc["warnings"]),
        digest=doc["digest"],
    )


def _change_from_doc(change: Mapping[str, Any]) -> Change:
    return Change(
        workspace=change["workspace"],
        kind=change["kind"],
        id=change["id"],
        action=Action(change["action"]),
        method=cast("Method | None", change["method"]),
        url=change["url"],
        fingerprint=change["fingerprint"],
        export_state=cast("ExportState | None", change["export_state"]),
        file=change["file"],
        long_running=change["long_running"],
        after=tuple(change["after"]),
        check=change.get("check"),
        body=change.get("body"),
        erasure=change["erasure"],
        name=change["name"],
        reason=change["reason"],
        title=change["title"],
        instructions=change["instructions"],
    )


def write_plan(plan: Plan, path: Path) -> dict[str, Any]:
    """Write `plan` to `path` atomically and durably, checking it is a valid plan as it goes.

    Returns the document written, so a caller can render it without serializing again. Its
    changes are made from `plan` one at a time, whenever they are read, so the plan and its
    whole document are never held both: writing reads each once, and checks and digests it
    as it writes it (`_Sealed`); rendering reads them again.

    A temp file in the same folder is written, fsync'd and renamed over `path`, then the folder
    is fsync'd, so a crash leaves either the old file or the new one, never half of one. An
    invalid plan is refused before its file is complete: the temp file goes, `path` is left
    as it was (its folder is made first). The file is 0644: plans are shared and reviewed.
    Unlike export files they are not confined.
    """
    head = _doc(plan, [], digest=False)
    sealing = validation.Sealing(head)
    changes = plan.changes
    # Changes on disk keep their documents: read as they are, not made into changes and back.
    docs = changes.docs() if isinstance(changes, InPlanOrder) else Made(changes, change_doc)
    written = _Sealed(head, Made(docs, sealing.see), sealing, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        write_file_atomic(path, pretty_json_chunks(written), mode=0o644)  # streamed: plans get big
    except _Refused as refused:
        raise PlanFileError(
            _describe(path, "refusing to write an invalid plan", refused.found)
        ) from None
    return {**head, "changes": docs, "digest": written.digest}


class _Refused(Exception):
    """The plan being written is not a valid plan: raised from inside the writing."""

    def __init__(self, found: list[Diagnostic]) -> None:
        super().__init__(found)
        self.found = found


class _Sealed(Mapping[str, Any]):
    """The plan document as it is written: its changes checked and digested as the file is
    written, its digest known once they all were, which is when the file comes to it (keys are
    sorted: changes, created, digest), or `_Refused` raised then if they make no valid plan."""

    def __init__(self, head: dict[str, Any], changes: Made, sealing: validation.Sealing,
                 shown: str) -> None:
        self.head, self.changes, self.sealing, self.shown = head, changes, sealing, shown
        self.digest = ""
        self.keys_ = [*head, "digest"]

    def __getitem__(self, key: str) -> Any:
        if key == "changes":
            return self.changes
        if key == "digest":
            return self._seal()
        return self.head[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys_)

    def __len__(self) -> int:
        return len(self.keys_)

    def _seal(self) -> str:
        found, actual = self.sealing.finish(self.shown)
        if found or actual is None:
            raise _Refused(found)
        self.digest = actual
        return actual


def load_doc(path: Path) -> dict[str, Any]:
    """Read and check a plan file; return its document. Raises PlanFileError with every problem.

    Checks the format version (any 1.x), the schema, the digest, the summary, the order and
    uniqueness of changes. Never checks staleness: that is apply's job.
    """
    doc = _parse(path)
    found = validation.problems(doc, str(path))
    if found:
        raise PlanFileError(_describe(path, "not a valid amlctl plan", found))
    return cast(dict[str, Any], doc)


def _parse(path: Path) -> object:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise PlanFileError(f"{path}: cannot read plan file: {error.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise PlanFileError(f"{path}: not a plan file: not UTF-8 (byte {error.start})") from None
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        raise PlanFileError(
            f"{path}:{error.lineno}:{error.colno}: not a plan file: invalid JSON: {error.msg}"
        ) from None
    except ValueError as error:
        raise PlanFileError(f"{path}: not a plan file: $: {error}") from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # A repeated key would let a second "action" hide behind the first; JSON parsers disagree
    # on which one wins, so a plan must not have any.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r} in an object")
        result[key] = value
    return result


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


def _describe(path: Path, what: str, found: list[Diagnostic]) -> str:
    # One heading names the file; each problem below it is its JSON path and message.
    lines = [f"{path}: {what}:"]
    lines += [f"  {problem.path}: {problem.message}" for problem in found]
    return "\n".join(lines)
