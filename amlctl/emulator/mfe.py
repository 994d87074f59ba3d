"""The current Azure ML resources under a workspace (ARM, "MFE": the management front end):
jobs, schedules, asset containers and versions, datastores, connections, endpoints and their
deployments, feature sets and entities, serverless endpoints, marketplace subscriptions; and
the compute delete.

Every collection is one `Collection` row: where it lives in the URL, its store kind, how its
lists filter archived (or disabled) items, and how it is deleted:

- `sync` (assets, datastores, connections): 200 deleted, 204 missing.
- `lro`: 202 and an operation to poll (lro.py); the item is gone at once.
- `lro202`: the same, for the kinds whose spec lists only 202 and 204.

A container that still has versions (assets, feature sets and entities), and a model,
environment or code version a deployment names, answer 409; an endpoint's delete takes its
deployments along (Microsoft's endpoint how-tos say so for both kinds).

Lists page by an absolute nextLink carrying `$skip` (an opaque token here, keyset underneath),
with the page-size parameter each list documents. Items answer the same in lists and gets;
datastores are the data plane's (datastore v1.0) registrations seen through ARM, without
their secrets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from amlctl.emulator import arm, jobhistory, lro, mfe_views
from amlctl.emulator.arm import CURRENT_VERSIONS, list_body
from amlctl.emulator.context import Context, Params
from amlctl.emulator.paging import page, size_arg
from amlctl.emulator.store import Item, Value, Workspace
from amlctl.emulator.wire import Response, empty_response, json_response

_PROVIDER = "Microsoft.MachineLearningServices"
# listViewType values, per list that takes one: the field it reads and the value it keeps
ARCHIVE_VIEWS: dict[str, tuple[str, bool] | None] = {
    "activeonly": ("properties.isArchived", False),
    "archivedonly": ("properties.isArchived", True), "all": None}
SCHEDULE_VIEWS: dict[str, tuple[str, bool] | None] = {
    "enabledonly": ("properties.isEnabled", True),
    "disabledonly": ("properties.isEnabled", False), "all": None}
# Where a deployment names the versions it serves (online: a string; batch: an asset reference)
DEPLOYMENT_KINDS = ("online_deployment", "batch_deployment")
USED_BY_DEPLOYMENTS = {
    "model_version": ("properties.model", "properties.model.assetId"),
    "environment_version": ("properties.environmentId",),
    "code_version": ("properties.codeConfiguration.codeId",),
}


@dataclass(frozen=True, eq=False)
class Collection:
    """One collection of the current API: `segment` under the workspace (or under an item of
    `parent`), stored as `kind`, of ARM type `type`."""

    segment: str
    kind: str
    type: str
    label: str
    delete: str = "sync"  # sync | lro | lro202
    views: dict[str, tuple[str, bool] | None] | None = None  # listViewType values, default first
    size: str | None = None  # the page-size query parameter: count, $top, pageSize
    parent: Collection | None = None
    async_header: bool = False  # an lro delete also names an Azure-AsyncOperation URL
    op_prefix: str = ""  # how this service's operation ids start (bebes: for a batch endpoint)
    # a delete of an item that has children: "refuse" (a container with versions) or
    # "cascade" (an endpoint takes its deployments along)
    with_children: str = "refuse"

    @property
    def children(self) -> tuple[Collection, ...]:
        return tuple(c for c in COLLECTIONS if c.parent is self)


def _family(segment: str, kind: str, label: str, child: str, child_label: str, *,
            views: dict[str, tuple[str, bool] | None] | None, delete: str = "sync",
            size: str | None = None, child_size: str | None = "$top",
            async_header: tuple[bool, bool] = (False, False),
            prefixes: tuple[str, str] = ("", "")) -> list[Collection]:
    """A container and its versions, or an endpoint and its deployments."""
    sub = "versions" if child.endswith("_version") else "deployments"
    top = Collection(segment, kind, f"workspaces/{segment}", label, delete, views, size,
                     async_header=async_header[0], op_prefix=prefixes[0],
                     with_children="refuse" if sub == "versions" else "cascade")
    below = Collection(sub, child, f"workspaces/{segment}/{sub}", child_label, delete, views,
                       child_size, top, async_header=async_header[1], op_prefix=prefixes[1])
    return [top, below]


COLLECTIONS: tuple[Collection, ...] = (
    Collection("jobs", "job", "workspaces/jobs", "Job", "lro", ARCHIVE_VIEWS),
    Collection("schedules", "schedule", "workspaces/schedules", "Schedule", "lro",
               SCHEDULE_VIEWS),
    *_family("models", "model_container", "Model container", "model_version", "Model version",
             views=ARCHIVE_VIEWS, size="count"),
    *_family("data", "data_container", "Data container", "data_version", "Data version",
             views=ARCHIVE_VIEWS),
    *_family("environments", "environment_container", "Environment container",
             "environment_version", "Environment version", views=ARCHIVE_VIEWS),
    *_family("components", "component_container", "Component container",
             "component_version", "Component version", views=ARCHIVE_VIEWS),
    *_family("codes", "code_container", "Code container", "code_version", "Code version",
             views=None),
    Collection("datastores", "datastore", "workspaces/datastores", "Datastore", size="count"),
    Collection("connections", "connection", "workspaces/connections", "Connection"),
    *_family("onlineEndpoints", "online_endpoint", "Online endpoint", "online_deployment",
             "Online deployment", views=None, delete="lro", size="count", async_header=(True, True),
             prefixes=("oeidp", "odidp")),
    *_family("batchEndpoints", "batch_endpoint", "Batch endpoint", "batch_deployment",
             "Batch deployment", views=None, delete="lro", size="count",
             async_header=(True, False), prefixes=("bebes", "")),
    *_family("featuresets", "featureset", "Feature set", "featureset_version",
             "Feature set version", views=ARCHIVE_VIEWS, delete="lro", size="pageSize",
             child_size="pageSize"),
    *_family("featurestoreEntities", "featurestore_entity", "Feature store entity",
             "featurestore_entity_version", "Feature store entity version",
             views=ARCHIVE_VIEWS, delete="lro", size="pageSize", child_size="pageSize"),
    Collection("serverlessEndpoints", "serverless_endpoint", "workspaces/serverlessEndpoints",
               "Serverless endpoint", "lro202"),
    Collection("marketplaceSubscriptions", "marketplace_subscription",
               "workspaces/marketplaceSubscriptions", "Marketplace subscription", "lro202"),
)
BY_KIND = {c.kind: c for c in COLLECTIONS}

Handler = Callable[[Context, Params], Response]


def handlers(collection: Collection) -> tuple[tuple[str, str, Handler], ...]:
    """(method, path below the workspace, handler) of one collection."""
    if collection.parent is None:
        base = collection.segment
        return (("GET", base, partial(list_items, collection)),
                ("GET", base + "/{name}", partial(get_item, collection)),
                ("DELETE", base + "/{name}", partial(delete_item, collection)))
    base = f"{collection.parent.segment}/{{parent}}/{collection.segment}"
    return (("GET", base, partial(list_items, collection)),
            ("GET", base + "/{name}", partial(get_item, collection)),
            ("DELETE", base + "/{name}", partial(delete_item, collection)))


# -- reads ------------------------------------------------------------------------------------

def list_items(collection: Collection, ctx: Context, params: Params) -> Response:
    ws = ctx.workspace(params)
    parent = _parent_name(ctx, ws, collection, params)
    where = _view_filter(ctx, collection)
    rows, token = page(
        ctx, "mfe", ctx.request.arg("$skip", fold=True),
        lambda after, n: ctx.store.page(ws.key, collection.kind, parent=parent, after=after,
                                        limit=n, where=where),
        lambda item: item.id, size_arg(ctx, collection.size) if collection.size else None)
    link = ctx.request.self_url({"$skip": token}) if token else None
    return json_response(200, list_body([_body(ws, item) for item in rows], link))


def get_item(collection: Collection, ctx: Context, params: Params) -> Response:
    ws = ctx.workspace(params)
    item = _find(ctx, ws, collection, params)
    if item is None:
        raise _not_found(ctx, ws, collection, params)
    return json_response(200, _body(ws, item))


def _body(ws: Workspace, item: Item) -> str:
    return mfe_views.datastore(ws, item) if item.kind == "datastore" else item.raw


def _view_filter(ctx: Context, collection: Collection) -> dict[str, Value]:
    """The field filter of the list's listViewType (ActiveOnly, or EnabledOnly, by default)."""
    if collection.views is None:
        return {}
    asked = ctx.request.arg("listViewType", fold=True)
    choice = next(iter(collection.views)) if asked is None else asked.lower()
    if choice not in collection.views:
        names = {"activeonly": "ActiveOnly", "archivedonly": "ArchivedOnly", "all": "All",
                 "enabledonly": "EnabledOnly", "disabledonly": "DisabledOnly"}
        known = ", ".join(names[view] for view in collection.views)
        raise ctx.fail(400, "UserError",
                       f"The value '{asked}' is not valid for listViewType; expected one of "
                       f"{known}.")
    view = collection.views[choice]
    return {} if view is None else {view[0]: view[1]}


def _parent_name(ctx: Context, ws: Workspace, collection: Collection, params: Params) -> str:
    """The container or endpoint a nested collection is under ("" at the top); 404 if it is
    not there."""
    if collection.parent is None:
        return ""
    if ctx.store.get(ws.key, collection.parent.kind, params["parent"]) is None:
        raise _not_found(ctx, ws, collection.parent, {**params, "name": params["parent"]})
    return params["parent"]


def _find(ctx: Context, ws: Workspace, collection: Collection, params: Params,
          *, strict: bool = True) -> Item | None:
    """The item the path names; a missing container or endpoint is a 404 when `strict`, else
    the item is simply not there (a delete of it answers 204, and a resumed erasure goes on)."""
    parent = _parent_name(ctx, ws, collection, params) if strict else params.get("parent", "")
    return ctx.store.get(ws.key, collection.kind, store_id(parent, params["name"]))


def store_id(parent: str, name: str) -> str:
    """An item's id in the store: its name, under its container or endpoint when it has one
    (version "1" exists under many containers)."""
    return f"{parent}/{name}" if parent else name


def _not_found(ctx: Context, ws: Workspace, collection: Collection, params: Params) -> Exception:
    under = f"{collection.parent.segment}/{params['parent']}/" if collection.parent else ""
    name = f"{_PROVIDER}/workspaces/{ws.name}/{under}{collection.segment}/{params['name']}"
    return ctx.fail(404, "ResourceNotFound",
                    f"The Resource '{name}' under resource group '{ws.resource_group}' was not "
                    "found. For more details please go to https://aka.ms/ARMResourceNotFoundFix")


# -- deletes ----------------------------------------------------------------------------------

def delete_item(collection: Collection, ctx: Context, params: Params) -> Response:
    """DELETE one item in the collection's dialect; 204 when it is not there."""
    ws = ctx.workspace(params)
    item = _find(ctx, ws, collection, params, strict=False)
    if item is None:
        return empty_response(204)
    refused = _refusal(ctx, ws, collection, item)
    if refused is not None:
        return refused
    ctx.store.delete(ws.key, item.kind, item.id)
    if collection.kind == "job":  # a job is a run: its run-history document goes with it
        jobhistory.forget_run(ctx, ws, item.id)
    if collection.with_children == "cascade":  # an endpoint's deployments go with it
        for child in collection.children:
            ctx.store.delete_children(ws.key, child.kind, item.id)
    if collection.delete == "sync":
        return empty_response(200)
    return lro.accept_mfe(ctx, ws, collection.op_prefix, collection.async_header,
                          CURRENT_VERSIONS[-1])


def _refusal(ctx: Context, ws: Workspace, collection: Collection, item: Item) -> Response | None:
    """409 for what the service keeps: a container with versions, a version in use."""
    for child in collection.children if collection.with_children == "refuse" else ():
        if ctx.store.children(ws.key, child.kind, item.id):
            return _conflict(
                "ContainerHasVersions",
                f"{collection.label} '{item.doc.get('name')}' still has versions; delete them "
                "before the container.", [])
    paths = USED_BY_DEPLOYMENTS.get(collection.kind)
    if paths is None:
        return None
    users = ctx.store.referring(ws.key, DEPLOYMENT_KINDS, paths, str(item.doc.get("id")))
    if not users:
        return None
    named = ", ".join(f"{user.parent}/{user.doc.get('name')}" for user in users)
    return _conflict(
        "AssetInUse",
        f"{collection.label} '{item.id}' is used by deployment(s) {named}; delete or update "
        "them first.", [str(user.doc.get("id")) for user in users])


def _conflict(code: str, message: str, targets: list[str]) -> Response:
    """The AML resource provider's error form: UserError, the specific code in `details`."""
    details = [{"code": code, "message": message, "target": target} for target in targets]
    return json_response(409, {"error": {
        "code": "UserError", "message": message,
        "details": details or [{"code": code, "message": message}],
        "additionalInfo": [{"type": "ComponentName", "info": {"value": "managementfrontend"}}],
    }})


# -- computes -----------------------------------------------------------------------------------

def delete_compute(ctx: Context, params: Params) -> Response:
    """DELETE a compute (current api-version): `underlyingResourceAction` Delete or Detach is
    required; 204 when missing, else 202 with both poll headers (computeOperationsStatus)."""
    action = ctx.request.arg("underlyingResourceAction", fold=True)
    if action is None or action.lower() not in ("delete", "detach"):
        raise ctx.fail(400, "UserError",
                       "The query parameter underlyingResourceAction is required: Delete (the "
                       "compute and what runs it) or Detach (the compute only).")
    ws, item = arm.find_compute(ctx, params)
    if item is None:
        return empty_response(204)
    ctx.store.delete(ws.key, "compute", item.id)
    return lro.accept_typed(ctx, ws, "compute", CURRENT_VERSIONS[-1])
