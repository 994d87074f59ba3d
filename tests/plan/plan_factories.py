"""Small builders of plans and plan documents for the plan and render tests.

Every builder has defaults that make a valid plan, so a test states only what it is about.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from amlctl.plan import (
    Action,
    CatalogRef,
    Change,
    ManifestRef,
    Plan,
    RequestInfo,
    Target,
    WorkspaceRef,
    to_doc,
)

SUB = "00000000-0000-0000-0000-000000000000"
WS = "demo-ws"
CREATED = "2026-11-22T05:00:00Z"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def item_url(kind: str, item_id: str, ws: str = WS) -> str:
    return (
        f"https://eastus.api.azureml.ms/{kind}/v1.0/subscriptions/{SUB}/resourceGroups/demo-rg"
        f"/providers/Microsoft.MachineLearningServices/workspaces/{ws}/{kind}s/{item_id}"
        "?api-version=2019-11-01"
    )


def delete(kind: str, item_id: str, *, ws: str = WS, **extra: Any) -> Change:
    fields: dict[str, Any] = {
        "method": "DELETE", "url": item_url(kind, item_id, ws),
        "fingerprint": f"etag:\"{sha(item_id)[:16]}\"",
        "reason": f"delete.select[0]: subject's {kind}s",
    }
    return Change(workspace=ws, kind=kind, id=item_id, action=Action.DELETE, **(fields | extra))


def export(kind: str, item_id: str, *, ws: str = WS, state: str = "new", **extra: Any) -> Change:
    fields: dict[str, Any] = {
        "method": "GET", "url": item_url(kind, item_id, ws), "export_state": state,
        "fingerprint": f"sha256:{sha(item_id)}", "file": f"{ws}/{kind}/{sha(item_id)[:12]}.json",
        "reason": f"export.select[0]: subject's {kind}s",
    }
    return Change(workspace=ws, kind=kind, id=item_id, action=Action.EXPORT, **(fields | extra))


def unchanged(kind: str, item_id: str, *, ws: str = WS) -> Change:
    return Change(
        workspace=ws, kind=kind, id=item_id, action=Action.UNCHANGED, method="GET",
        url=item_url(kind, item_id, ws), fingerprint=f"sha256:{sha(item_id)}",
        file=f"{ws}/{kind}/{sha(item_id)[:12]}.json", reason="export is current",
    )


def absent(kind: str, item_id: str, *, ws: str = WS, method: str = "DELETE") -> Change:
    return Change(
        workspace=ws, kind=kind, id=item_id, action=Action.ABSENT, method=method,  # type: ignore[arg-type]
        url=item_url(kind, item_id, ws), reason="explicit id not found",
    )


def manual(step: str, *, ws: str = WS, kind: str = "pipeline_graph") -> Change:
    return Change(
        workspace=ws, kind=kind, id=step, action=Action.MANUAL,
        title=f"Delete {kind} drafts by hand",
        instructions="Open the designer in Azure ML studio.\nDelete each draft you own.",
        reason="the designer has no API for this",
    )


def workspace_ref(name: str = WS) -> WorkspaceRef:
    return WorkspaceRef(SUB, "demo-rg", name, "eastus")


def request() -> RequestInfo:
    return RequestInfo("DSR-2026-0042", date(2026, 11, 20), date(2026, 12, 20),
                       "subject-1a2b3c4d5e6f")


def make_plan(changes: list[Change] | tuple[Change, ...] = (), **overrides: Any) -> Plan:
    fields: dict[str, Any] = {
        "amlctl_version": "0.1.0",
        "created": CREATED,
        "name": "dsr-2026-0042",
        "manifest": ManifestRef("plans/dsr-2026-0042.yaml", sha("manifest")),
        "catalog": CatalogRef("azureml-2019-11-01", sha("catalog"), "workspace"),
        "target": Target("azure"),
        "request": request(),
        "workspaces": (workspace_ref(),),
        "export_to": "exports/dsr-2026-0042",
        "max_deletes": 50,
        "changes": tuple(changes),
        "warnings": (),
    }
    return Plan(**(fields | overrides))


def make_doc(changes: list[Change] | tuple[Change, ...] = (), **overrides: Any) -> dict[str, Any]:
    return to_doc(make_plan(changes, **overrides))


def subject_changes() -> list[Change]:
    """An export-and-erase request touching every action."""
    return [
        delete("model", "churn-model:1", name="churn-model"),
        delete("run", "run-0001"),
        delete("run", "run-0002"),
        export("run", "run-0001"),
        export("run", "run-0002", state="changed"),
        export("model", "churn-model:1", name="churn-model"),
        export("metric", "run-0001/accuracy"),
        unchanged("dataset", "customers-eu:3"),
        absent("service", "churn-svc-eu"),
        manual("designer-drafts"),
    ]


def teardown_plan() -> Plan:
    """Delete a whole workspace: one long-running ARM delete."""
    change = delete("workspace", WS, long_running=True, reason="delete.select[0]: the workspace",
                    url=f"https://management.azure.com/subscriptions/{SUB}/resourceGroups/"
                    f"demo-rg/providers/Microsoft.MachineLearningServices/workspaces/{WS}"
                    "?api-version=2019-11-01")
    return make_plan(
        [change, delete("model", "churn-model:1")],
        name="teardown-demo-ws", request=None, export_to=None, max_deletes=None,
        warnings=(f"this plan deletes the whole workspace {WS} and everything in it",),
    )


def bulk_changes(count: int) -> list[Change]:
    """`count` changes over a few kinds and actions, cheap to build."""
    makers = [("run", delete), ("artifact", export), ("metric", export), ("model", delete)]
    return [makers[i % 4][1](makers[i % 4][0], f"item-{i:06d}") for i in range(count)]


def bulk_doc(count: int) -> dict[str, Any]:
    """A plan document of `count` changes, built by copying dicts: fast enough for 100,000.

    Its digest is not recomputed (renderers do not check it); everything else is consistent.
    """
    templates = [to_doc(make_plan([maker(kind, "x")]))["changes"][0]
                 for kind, maker in (("run", delete), ("artifact", export), ("metric", export),
                                     ("model", delete))]
    changes = []
    for i in range(count):
        change = dict(templates[i % 4])
        item_id = f"item-{i:06d}"
        change["id"] = item_id
        change["address"] = change["address"][:-1] + item_id
        changes.append(change)
    changes.sort(key=lambda c: (c["workspace"], c["action"] != "delete", c["kind"], c["id"]))
    doc = make_doc()
    doc["changes"] = changes
    for action in doc["summary"]:
        doc["summary"][action] = sum(1 for c in changes if c["action"] == action)
    return doc
