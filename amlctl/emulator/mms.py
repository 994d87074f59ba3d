"""Model management (`{region}.modelmanagement.azureml.net/api{WS}/...`, and the same under
`/modelmanagement/v1.0{WS}/...` as azureml-core calls it): models, assets, images and services,
with their delete rules.

- Image and service lists answer summaries unless `expand=true`; gets answer whole items (see
  views.py). Models and assets answer alike in lists and gets.
- DELETE answers 200 when the item existed, 204 when it did not.
- A model still named in an image's `modelIds` answers 412 with `DeletionRequired`.
- A service delete answers 202 (with an `Operation-Location` to poll) by `service_delete_202`:
  `aks` (default: AKS services tear down asynchronously, others answer 200), `always`, `never`.
  Either way the service is gone at once.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from amlctl.emulator import views
from amlctl.emulator.arm import list_body
from amlctl.emulator.context import Context, Params
from amlctl.emulator.envelopes import framework_error, mms_error
from amlctl.emulator.paging import page, size_arg
from amlctl.emulator.store import Item
from amlctl.emulator.wire import Response, empty_response, json_response

API_VERSIONS = ("2018-11-19", "2018-03-01-preview")
KINDS = {"models": "model", "assets": "asset", "images": "image", "services": "service"}
_LABELS = {"model": "Model", "asset": "Asset", "image": "Image", "service": "Service"}
# query parameter -> JSON field, per kind (equality filters the real list calls offer)
_FILTERS = {
    "model": {"name": "name", "runId": "runId", "framework": "framework"},
    "asset": {"name": "name", "runId": "runid"},
    "image": {"name": "name"},
    "service": {"name": "name", "imageId": "imageId", "computeType": "computeType"},
}


def check_api_version(ctx: Context) -> Response | None:
    """MMS wants `api-version` under `/api` and refuses ARM's 2019-11-01 (as the 2020 article's
    calls saw); under `/modelmanagement/v1.0` the version is the path's (azureml-core sends
    none there)."""
    if ctx.request.segments[:1] != ("api",):
        return None
    version = ctx.request.arg("api-version")
    if version is None:
        return framework_error(400, "ApiVersionUnspecified",
                               "An API version is required, but was not specified.")
    if version not in API_VERSIONS:
        return framework_error(400, "UnsupportedApiVersion",
                               f"The HTTP resource that matches the request URI "
                               f"'{ctx.request.azure_url}' does not support the API version "
                               f"'{version}'.")
    return None


def _kind(ctx: Context, params: Params) -> str:
    kind = KINDS.get(params["kind"].lower())
    if kind is None:
        raise ctx.fail(404, "NotFound", f"No resource '{params['kind']}' in model management")
    return kind


def list_items(ctx: Context, params: Params) -> Response:
    """GET /{models|assets|images|services}: `value` + absolute `nextLink` with `$skipToken`."""
    kind = _kind(ctx, params)
    ws = ctx.workspace(params)
    where = {field: value for arg, field in _FILTERS[kind].items()
             if (value := ctx.request.arg(arg, fold=True)) is not None}
    model_id = ctx.request.arg("modelId", fold=True) if kind == "image" else None
    contains = ("modelIds", model_id) if model_id else None
    latest = _latest_versions(ctx, ws.key, where) if kind == "model" else None

    def fetch(after: str, n: int) -> list[Item]:
        if latest is None:
            return ctx.store.page(ws.key, kind, after=after, limit=n, where=where,
                                  contains=contains)
        return [item for item in ctx.store.page(ws.key, kind, after=after, where=where)
                if item.id in latest][:n]

    rows, token = page(ctx, "mms", ctx.request.arg("$skipToken", fold=True), fetch,
                       lambda item: item.id, size_arg(ctx, "count"))
    link = ctx.request.self_url({"$skipToken": token}) if token else None
    expand = _expand(ctx)
    return json_response(200, list_body([views.mms_listed(ctx.store, item, expand)
                                         for item in rows], link))


def _latest_versions(ctx: Context, ws_key: str, where: dict[str, str]) -> set[str] | None:
    """With `latestVersionOnly=true` (azureml-core's `Model.list(latest=True)`), the ids of the
    newest version of each model name; None when every version is wanted."""
    value = ctx.request.arg("latestVersionOnly", fold=True)
    if value is None or value.lower() == "false":
        return None
    if value.lower() != "true":
        raise ctx.fail(400, "BadRequest", "latestVersionOnly must be true or false")
    newest: dict[str, Item] = {}
    for item in ctx.store.page(ws_key, "model", where=where):
        name, version = str(item.doc.get("name")), int(item.doc.get("version") or 0)
        if name not in newest or version > int(newest[name].doc.get("version") or 0):
            newest[name] = item
    return {item.id for item in newest.values()}


def _expand(ctx: Context) -> bool:
    """`expand=true` (any case) lists whole items; anything else, or nothing, lists summaries."""
    value = ctx.request.arg("expand", fold=True)
    return value is not None and value.lower() == "true"


def _find(ctx: Context, params: Params) -> tuple[str, str, Item | None]:
    kind = _kind(ctx, params)
    ws = ctx.workspace(params)
    return ws.key, kind, ctx.store.get(ws.key, kind, params["id"])


def get_item(ctx: Context, params: Params) -> Response:
    _, kind, item = _find(ctx, params)
    if item is None:
        raise ctx.fail(404, "NotFound", f"{_LABELS[kind]} with id {params['id']} not found")
    return json_response(200, views.mms_got(ctx.store, item))


def delete_item(ctx: Context, params: Params) -> Response:
    """DELETE /{kind}/{id}: 200, 204 when missing, 412 for a model in use, 202 for services."""
    ws_key, kind, item = _find(ctx, params)
    if item is None:
        return empty_response(204)
    if kind == "model":
        users = ctx.store.find(ws_key, "image", "modelIds", item.id)
        if users:
            return _deletion_required(item.id, [image.id for image in users])
    ctx.store.delete(ws_key, kind, item.id)
    if kind == "service" and _answers_202(ctx, item):
        return _service_accepted(ctx, ws_key, item)
    return empty_response(200)


def _deletion_required(model_id: str, image_ids: list[str]) -> Response:
    names = ", ".join(image_ids)
    message = (f"DeletionRequired: Model {model_id} is used by one or more images ({names}). "
               "Delete the images before deleting the model.")
    details = [{"code": "DeletionRequired", "message": f"Image {image} uses model {model_id}",
                "target": image} for image in image_ids]
    return mms_error(412, "DeletionRequired", message, details)


def _answers_202(ctx: Context, item: Item) -> bool:
    rule = ctx.config.service_delete_202
    return rule == "always" or (rule == "aks" and item.doc.get("computeType") == "AKS")


def _service_accepted(ctx: Context, ws_key: str, item: Item) -> Response:
    op_id = str(uuid.uuid4())
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    resource = ctx.request.path.rsplit("/", 2)[0] + f"/services/{item.id}"
    doc = {"id": op_id, "operationType": "ServiceDelete", "state": "Succeeded",
           "createdTime": now, "endTime": now, "error": None, "resourceLocation": resource,
           "operationLog": None, "parentRequestId": ctx.request.request_id}
    ctx.store.put_operation(op_id, ws_key, 0, doc)
    base = ctx.request.path.rsplit("/", 2)[0]
    link = ctx.request.routed(ctx.request.host, f"{base}/operations/{op_id}",
                              {"api-version": ctx.request.arg("api-version") or API_VERSIONS[0]})
    return empty_response(202, {"Operation-Location": link})


def get_operation(ctx: Context, params: Params) -> Response:
    """GET /operations/{id}: the async status of a service delete (already Succeeded)."""
    ctx.workspace(params)
    polled = ctx.store.poll_operation(params["op"])
    if polled is None:
        raise ctx.fail(404, "NotFound", f"Operation with id {params['op']} not found")
    return json_response(200, json.dumps(polled[1]))
