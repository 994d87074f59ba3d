"""Literal inventories for the planning tests: items as the walker would build them.

Each builder makes one `Item` with only what the planner reads: `values` holds the template
variables that address it (the workspace's scope, its parents', its own id variable), `fields`
the dot paths the catalog names (creators, links, uses). Children are built from their parent
item, as the walker lists them under it, so their values and parents always agree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from amlctl.inventory import Inventory, Item
from amlctl.manifest import Workspace

SUB = "6a3c9f1e-2b4d-4c8a-9e1f-0123456789ab"
RG = "demo-rg"
DEMO = Workspace(SUB, RG, "demo-ws", "eastus")
EU = Workspace(SUB, RG, "demo-ws-eu", "westeurope")

JANE_OID = "8b0c2f4e-0000-4000-8000-000000000042"
JANE = "Jane Doe"
BOB_OID = "1d2e3f40-0000-4000-8000-000000000007"
BOB = "Bob Roe"


def fp(*parts: str) -> str:
    """A fingerprint as the inventory writes them: `sha256:` and 64 hex digits."""
    return "sha256:" + hashlib.sha256("/".join(parts).encode()).hexdigest()


def _item(
    workspace: str,
    kind: str,
    item_id: str,
    values: Mapping[str, str],
    fields: Mapping[str, Any] | None = None,
    *,
    parent: str | None = None,
    name: str | None = None,
    fingerprint: str | None = None,
) -> Item:
    return Item(
        workspace=workspace,
        kind=kind,
        id=item_id,
        name=name or item_id,
        fingerprint=fingerprint or fp(workspace, kind, item_id),
        values=dict(values),
        fields=dict(fields or {}),
        parent=parent,
    )


def _top(ws: Workspace, kind: str, item_id: str, id_var: str, fields: Mapping[str, Any],
         **extra: Any) -> Item:
    return _item(ws.name, kind, item_id, {**ws.scope_values(), id_var: item_id}, fields, **extra)


def workspace(ws: Workspace = DEMO, **extra: Any) -> Item:
    """The workspace itself, as its lookup by name finds it (its id is its name)."""
    return _item(ws.name, "workspace", ws.name, ws.scope_values(), **extra)


def experiment(name: str, ws: Workspace = DEMO, **extra: Any) -> Item:
    # `name` is what a run's list takes its {experimentName} from.
    return _top(ws, "experiment", name, "experimentName", {"name": name}, **extra)


def run(
    run_id: str,
    exp: Item,
    *,
    oid: str | None = None,
    user: str | None = None,
    container: str | None = None,
    **extra: Any,
) -> Item:
    """A run of `exp`, created by (oid, user); its artifacts live in `container`."""
    fields = {
        "createdBy.userObjectId": oid,
        "createdBy.userName": user,
        "dataContainerId": container or f"dcid.{run_id}",
    }
    values = {**exp.values, "runId": run_id}
    return _item(exp.workspace, "run", run_id, values, fields, parent=exp.id, **extra)


def metric(metric_id: str, of: Item, **extra: Any) -> Item:
    """A metric logged by run `of`: listed under the run's experiment, naming the run."""
    values = {k: v for k, v in of.values.items() if k != "runId"} | {"metricId": metric_id}
    fields = {"runId": of.id}
    return _item(of.workspace, "metric", metric_id, values, fields, parent=of.parent, **extra)


def artifact(artifact_id: str, of: Item, **extra: Any) -> Item:
    """A file run `of` stored: listed under the run, in the run's data container."""
    container = str(of.fields["dataContainerId"])
    values = {**of.values, "containerId": container}
    return _item(
        of.workspace, "artifact", artifact_id, values, {"container": container},
        parent=of.id, **extra,
    )


def model(model_id: str, run_id: str | None = None, ws: Workspace = DEMO, **extra: Any) -> Item:
    return _top(ws, "model", model_id, "id", {"runId": run_id}, **extra)


def asset(asset_id: str, run_id: str | None = None, ws: Workspace = DEMO, **extra: Any) -> Item:
    # Assets spell the run's id `runid`.
    return _top(ws, "asset", asset_id, "id", {"runid": run_id}, **extra)


def image(image_id: str, model_ids: Iterable[str], ws: Workspace = DEMO, **extra: Any) -> Item:
    return _top(ws, "image", image_id, "id", {"modelIds": list(model_ids)}, **extra)


def service(service_id: str, image_id: str, ws: Workspace = DEMO, **extra: Any) -> Item:
    return _top(ws, "service", service_id, "id", {"imageId": image_id}, **extra)


def notification_task(
    task_id: str, *, oid: str | None = None, user: str | None = None, ws: Workspace = DEMO,
    **extra: Any,
) -> Item:
    fields = {"createdBy.userObjectId": oid, "createdBy.userName": user}
    return _top(ws, "notification_task", task_id, "taskId", fields, **extra)


def compute(name: str, ws: Workspace = DEMO, **extra: Any) -> Item:
    return _top(ws, "compute", name, "computeName", {}, **extra)


def pipeline_graph(graph_id: str, ws: Workspace = DEMO, **extra: Any) -> Item:
    return _top(ws, "pipeline_graph", graph_id, "graphId", {}, **extra)


def inventory(
    *items: Item,
    listed: Iterable[tuple[Workspace, str]] = (),
    looked_up: Iterable[Item] = (),
    missing: Iterable[tuple[Workspace, str, str]] = (),
    scope_kind: str = "workspace",
) -> Inventory:
    """An inventory holding `items` as listed (the scope item as its lookup), `listed` kinds
    as lists that came back empty, `looked_up` items as found by id and `missing` ids as not."""
    found = Inventory()
    for ws, kind in listed:
        found.items.setdefault((ws.name, kind), [])
    for item in items:
        if item.kind == scope_kind:
            found.lookups[(item.workspace, item.kind, item.id)] = item
        else:
            found.items.setdefault((item.workspace, item.kind), []).append(item)
    for item in looked_up:
        found.lookups[(item.workspace, item.kind, item.id)] = item
    for ws, kind, item_id in missing:
        found.lookups[(ws.name, kind, item_id)] = None
    return found
