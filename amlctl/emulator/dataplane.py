"""The `{region}.experiments.azureml.net` services: run history, artifacts, notifications,
datastores; and the blob downloads that artifact `contentUri`s point to.

These lists page with `continuationToken` (`{"value", "continuationToken", "nextLink": null}`).
The artifact container is the run's `dataContainerId` (`dcid.<runId>`); the article's plain
`containers/{runId}` form names no container and answers 404, as a container that does not
exist would.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any
from urllib.parse import quote

from amlctl.emulator.context import Context, Params
from amlctl.emulator.envelopes import storage_error
from amlctl.emulator.paging import page, size_arg
from amlctl.emulator.store import Item, dumps
from amlctl.emulator.wire import Response, json_response

SECRET_FIELDS = frozenset({"accountKey", "sasToken", "credential", "clientSecret",
                           "certificate", "password"})
_FAKE_SAS = {"sv": "2019-02-02", "sr": "b", "sig": "emulator", "sp": "r"}


def _token(ctx: Context) -> str | None:
    request = ctx.request
    return request.arg("$continuationtoken", fold=True) or request.arg("continuationToken",
                                                                       fold=True)


def _token_list(ctx: Context, params: Params, family: str, kind: str, parent: str = "",
                size: int | None = None) -> tuple[list[Item], str | None]:
    ws = ctx.workspace(params)
    rows, token = page(ctx, family, _token(ctx),
                       lambda after, n: ctx.store.page(ws.key, kind, parent=parent, after=after,
                                                       limit=n),
                       lambda item: item.id, size)
    return list(rows), token


def token_body(raws: list[str], token: str | None) -> str:
    """`{"value": [...], "continuationToken": ..., "nextLink": null}` from stored JSON."""
    return ('{"value":[' + ",".join(raws) + '],"continuationToken":' + json.dumps(token)
            + ',"nextLink":null}')


def _get(ctx: Context, params: Params, kind: str, item_id: str, parent: str | None,
         label: str) -> Item:
    ws = ctx.workspace(params)
    item = ctx.store.get(ws.key, kind, item_id)
    if item is None or (parent is not None and item.parent != parent):
        raise ctx.fail(404, "NotFoundError", f"{label} {item_id} was not found")
    return item


def _experiment(ctx: Context, params: Params) -> None:
    _get(ctx, params, "experiment", params["exp"], None, "Experiment")


# -- discovery --------------------------------------------------------------------------------
# service -> (host pattern, path prefix) of what `GET {region}.experiments.azureml.net/discovery`
# answers (as captured in how-to-manage-rest, 2020, plus `studio`, which azureml-core 1.61 looks
# up for every workspace); every value in the routed form, so an SDK
# that reads the workspace's `discoveryUrl` finds the emulator for each service. The emulator
# serves the experiments, modelmanagement and aether hosts; the others answer 404
# HostNotServed there, which is better than leaving loopback.
_DISCOVERY = {
    "api": "{r}.api.azureml.ms",
    "catalog": "catalog.cortanaanalytics.com",
    "experimentation": "{r}.experiments.azureml.net",
    "gallery": "gallery.cortanaintelligence.com/project",
    "history": "{r}.experiments.azureml.net",
    "hyperdrive": "{r}.experiments.azureml.net",
    "labeling": "{r}.experiments.azureml.net",
    "modelmanagement": "{r}.modelmanagement.azureml.net",
    "pipelines": "{r}.aether.ms",
    "studio": "ml.azure.com",
    "studiocoreservices": "{r}.studioservice.azureml.com",
}


def discovery(ctx: Context, params: Params) -> Response:
    """GET /discovery: the service base URLs for this host's region (no token needed)."""
    region = ctx.request.location
    urls = {}
    for service, pattern in _DISCOVERY.items():
        host, _, path = pattern.format(r=region).partition("/")
        urls[service] = ctx.request.routed(host, f"/{path}" if path else "")
    return json_response(200, urls)


# -- run history ------------------------------------------------------------------------------
def list_experiments(ctx: Context, params: Params) -> Response:
    rows, token = _token_list(ctx, params, "history", "experiment", size=size_arg(ctx, "$top"))
    return json_response(200, token_body([r.raw for r in rows], token))


def list_runs(ctx: Context, params: Params) -> Response:
    _experiment(ctx, params)
    rows, token = _token_list(ctx, params, "history", "run", params["exp"], size_arg(ctx, "$top"))
    return json_response(200, token_body([r.raw for r in rows], token))


def get_run(ctx: Context, params: Params) -> Response:
    _experiment(ctx, params)
    return json_response(200, _get(ctx, params, "run", params["run"], params["exp"], "Run").raw)


def list_metrics(ctx: Context, params: Params) -> Response:
    _experiment(ctx, params)
    rows, token = _token_list(ctx, params, "history", "metric", params["exp"],
                              size_arg(ctx, "$top"))
    return json_response(200, token_body([r.raw for r in rows], token))


def get_metric(ctx: Context, params: Params) -> Response:
    _experiment(ctx, params)
    item = _get(ctx, params, "metric", params["metric"], params["exp"], "Metric")
    return json_response(200, item.raw)


# -- artifacts --------------------------------------------------------------------------------
def list_artifacts(ctx: Context, params: Params) -> Response:
    container = params["container"]
    ws = ctx.workspace(params)
    run_id = container.removeprefix("dcid.")
    if not container.startswith("dcid.") or ctx.store.get(ws.key, "run", run_id) is None:
        raise ctx.fail(404, "NotFoundError",
                       f"Container ExperimentRun/{container} was not found")
    rows, token = _token_list(ctx, params, "artifact", "artifact", container)
    account = f"{ws.storage_account}.blob.core.windows.net"
    docs = [_with_content_uri(ctx, account, item) for item in rows]
    return json_response(200, token_body([dumps(d) for d in docs], token))


def list_content_by_prefix(ctx: Context, params: Params) -> Response:
    """GET /artifact/v2.0{WS}/artifacts/prefix/contentinfo/{origin}/{container}/{path}: the
    content URIs of a run's artifacts under a path prefix (azureml-core reads a run's logs
    this way)."""
    ws = ctx.workspace(params)
    container, prefix = params["container"], params["path"]
    run_id = container.removeprefix("dcid.")
    if params["origin"] != "ExperimentRun" or ctx.store.get(ws.key, "run", run_id) is None:
        raise ctx.fail(404, "NotFoundError",
                       f"Container {params['origin']}/{container} was not found")
    rows, token = _token_list(ctx, params, "artifact", "artifact", container)
    account = f"{ws.storage_account}.blob.core.windows.net"
    infos = [{"contentUri": content_uri(ctx, account, item.doc), "origin": item.doc["origin"],
              "container": container, "path": item.doc["path"]}
             for item in rows if str(item.doc["path"]).startswith(prefix)]
    return json_response(200, token_body([dumps(info) for info in infos], token))


def _with_content_uri(ctx: Context, account: str, item: Item) -> dict[str, Any]:
    # A link stored with the item is served as it is: hostile-server tests plant one there.
    return {**item.doc, "contentUri": item.doc.get("contentUri") or content_uri(ctx, account,
                                                                               item.doc)}


def content_uri(ctx: Context, account: str, doc: dict[str, Any]) -> str:
    """The (fake) SAS URL of an artifact's bytes on the workspace's storage account host."""
    path = f"/azureml/{doc['origin']}/{doc['container']}/{quote(doc['path'], safe='/')}"
    return ctx.request.routed(account, path, _FAKE_SAS)


def get_blob(ctx: Context, params: Params) -> Response:
    """GET an artifact's bytes from its (fake) SAS URL; no bearer token, but a `sig`."""
    if not ctx.request.arg("sig"):
        return storage_error(403, "AuthenticationFailed",
                             "Server failed to authenticate the request. Make sure the value of "
                             "Authorization header is formed correctly including the signature.")
    ws = ctx.store.workspace_by_account(ctx.request.host.split(".")[0])
    item_id = f"{params['container']}/{params['path']}"
    content = ctx.store.content(ws.key, "artifact", item_id) if ws else None
    item = ctx.store.get(ws.key, "artifact", item_id) if ws else None
    if ws is not None and item is None:  # a job's blob (jobhistory.py): outlives its records
        item = ctx.store.get(ws.key, "jh_blob", f"azureml/ExperimentRun/{item_id}")
        content = ctx.store.content(ws.key, "jh_blob", item.id) if item else None
    if content is None or item is None:
        return storage_error(404, "BlobNotFound", "The specified blob does not exist.")
    md5 = base64.b64encode(hashlib.md5(content).digest()).decode()
    return Response(200, {"Content-Type": "application/octet-stream", "Content-MD5": md5,
                          "ETag": item.etag, "x-ms-blob-type": "BlockBlob"}, content)


# -- notifications ----------------------------------------------------------------------------
def list_tasks(ctx: Context, params: Params) -> Response:
    rows, token = _token_list(ctx, params, "notification", "task")
    return json_response(200, token_body([r.raw for r in rows], token))


def get_task(ctx: Context, params: Params) -> Response:
    return json_response(200, _get(ctx, params, "task", params["task"], None, "Task").raw)


# -- datastores -------------------------------------------------------------------------------
def list_datastores(ctx: Context, params: Params) -> Response:
    secrets = _include_secret(ctx)
    names = ctx.request.args("dataStoreNames")
    if names:
        ws = ctx.workspace(params)
        found = [ctx.store.get(ws.key, "datastore", name) for name in sorted(set(names))]
        rows, token = [item for item in found if item is not None], None
    else:
        rows, token = _token_list(ctx, params, "datastore", "datastore",
                                  size=size_arg(ctx, "count"))
    docs = [_datastore_doc(item, secrets) for item in rows]
    return json_response(200, token_body(docs, token))


def get_datastore(ctx: Context, params: Params) -> Response:
    secrets = _include_secret(ctx)
    item = _get(ctx, params, "datastore", params["name"], None, "Datastore")
    return json_response(200, _datastore_doc(item, secrets))


def _include_secret(ctx: Context) -> bool:
    # The service's default is true: secrets are returned unless the caller opts out.
    value = (ctx.request.arg("includeSecret", fold=True) or "true").lower()
    if value not in ("true", "false"):
        raise ctx.fail(400, "ValidationError", f"includeSecret must be true or false, not "
                       f"{value!r}")
    return value == "true"


def _datastore_doc(item: Item, secrets: bool) -> str:
    # The registration is shared with ARM (mfe_views.py), whose systemData this service
    # never had.
    doc = {key: value for key, value in item.doc.items() if key != "systemData"}
    return dumps(doc if secrets else _without_secrets(doc))


def _without_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (None if k in SECRET_FIELDS else _without_secrets(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_without_secrets(v) for v in value]
    return value
