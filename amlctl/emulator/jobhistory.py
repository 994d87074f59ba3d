"""The unified data-plane host `{region}.api.azureml.ms` for the current API's jobs: run
history v1.0, metric v2.0 and artifact v2.0, with the calls that erase one person's runs.

- `POST .../experiments:query` and `POST .../experimentids/{id}/runs:query` list, paging by a
  `continuationToken` sent back in the body (history.py's QueryParams handling).
- `DELETE .../experimentids/{id}` deletes only an empty experiment: one that still holds a run
  answers 409 UserError "Only empty Experiments can be deleted. This experiment contains
  run(s)" (the message users quote; its status is not documented, 409 is this emulator's
  choice). It is long-running the way azureml-core polls it: 202 and a Location that answers
  202 while it runs, then 200.
- `DELETE .../runs/{runId}/deleteMetrics` answers 200 `{}` at once (the spec's
  LongRunningNullResponse, finished), the other dialect.
- `DELETE .../artifacts/{origin}/{container}/batch?hardDelete=` deletes a container's
  artifact records: `hardDelete=true` for good, `false` (the default) hides them, revertibly.
  Neither touches the blobs (`jh_blob`): they stay in the workspace's storage account, as
  users found after deleting runs (run-erasure notes, azure-sdk-for-python#25146).
- A job's ARM delete (mfe.py) takes its run document along (`forget_run`), not its metrics,
  artifacts or blobs.
- Tags are rectified by deleting them: `DELETE .../runs/{runId}/tags` with the keys as a JSON
  array (the run comes back, its revision moved on), `POST .../experimentids/{id}/tags:delete`
  with `{"tags": [...]}` (`{"errors": {...}}` for keys it did not have).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from amlctl.emulator import history, lro
from amlctl.emulator.context import Context, Params
from amlctl.emulator.dataplane import content_uri
from amlctl.emulator.store import Item, Workspace
from amlctl.emulator.wire import Response, empty_response, json_response

HOST = "{region}.api.azureml.ms"


def _experiment(ctx: Context, ws: Workspace, experiment_id: str) -> Item:
    item = ctx.store.get(ws.key, "jh_experiment", experiment_id)
    if item is None:
        raise ctx.fail(404, "NotFoundError", f"Experiment {experiment_id} was not found")
    return item


def _run(ctx: Context, ws: Workspace, run_id: str) -> Item:
    item = ctx.store.get(ws.key, "jh_run", run_id)
    if item is None:
        raise ctx.fail(404, "NotFoundError", f"Run {run_id} was not found")
    return item


# -- run history ------------------------------------------------------------------------------
def query_experiments(ctx: Context, params: Params) -> Response:
    """POST /experiments:query, as history.py answers it, over this host's experiments."""
    return history.query_experiments(ctx, params, kind="jh_experiment")


def get_experiment(ctx: Context, params: Params) -> Response:
    """GET /experimentids/{experimentId}."""
    return json_response(200, _experiment(ctx, ctx.workspace(params), params["id"]).raw)


def delete_experiment(ctx: Context, params: Params) -> Response:
    """DELETE /experimentids/{experimentId}: only an empty one; 202 and a Location to poll."""
    ws = ctx.workspace(params)
    item = _experiment(ctx, ws, params["id"])
    if ctx.store.children(ws.key, "jh_run", item.id):
        raise ctx.fail(409, "UserError", "Only empty Experiments can be deleted. This "
                                         "experiment contains run(s)")
    ctx.store.delete(ws.key, "jh_experiment", item.id)
    op_id = str(uuid.uuid4())
    ctx.store.put_operation(op_id, ws.key, ctx.config.lro_polls, {"id": op_id})
    path = f"/history/v1.0{_ws_path(ws)}/operations/{op_id}"
    location = ctx.request.routed(ctx.request.host, path)
    return empty_response(202, {"Location": location, **lro.retry_after(ctx)})


def experiment_operation(ctx: Context, params: Params) -> Response:
    """GET the Location of an experiment delete: 202 while it runs, then 200."""
    return lro.poll(ctx, params, as_location=True)


def query_runs(ctx: Context, params: Params) -> Response:
    """POST /experimentids/{experimentId}/runs:query."""
    ws = ctx.workspace(params)
    experiment = _experiment(ctx, ws, params["id"])
    args = history.query_args(ctx)
    items = ctx.store.page(ws.key, "jh_run", parent=experiment.id)
    docs = history.filtered(ctx, items, args, "runId")
    return history.answer(ctx, docs, args)


def get_run(ctx: Context, params: Params) -> Response:
    """GET /runs/{runId}: 404 once its job is deleted."""
    return json_response(200, _run(ctx, ctx.workspace(params), params["run"]).raw)


def delete_run_tags(ctx: Context, params: Params) -> Response:
    """DELETE /runs/{runId}/tags with the keys as a JSON array: the run, without them (its
    revision moves on). Keys it does not have are no error."""
    ws = ctx.workspace(params)
    run = _run(ctx, ws, params["run"])
    keys = _tag_keys(ctx, _json(ctx))
    tags = {k: v for k, v in (run.doc.get("tags") or {}).items() if k not in keys}
    updated = ctx.store.patch(ws.key, "jh_run", run.id,
                              {"tags": tags, "revision": int(run.doc.get("revision", 0)) + 1})
    return json_response(200, updated.raw)


def delete_experiment_tags(ctx: Context, params: Params) -> Response:
    """POST /experimentids/{experimentId}/tags:delete `{"tags": [...]}`: 200 with `errors` for
    the keys the experiment did not have."""
    ws = ctx.workspace(params)
    item = _experiment(ctx, ws, params["id"])
    body = _json(ctx)
    keys = _tag_keys(ctx, body.get("tags") if isinstance(body, dict) else None)
    held = item.doc.get("tags") or {}
    ctx.store.patch(ws.key, "jh_experiment", item.id,
                    {"tags": {k: v for k, v in held.items() if k not in keys}})
    errors = {key: {"error": {"code": "NotFound", "message": f"Tag {key} was not found"}}
              for key in sorted(keys - set(held))}
    return json_response(200, {"errors": errors})


def _json(ctx: Context) -> Any:
    try:
        return json.loads(ctx.body or b"null")
    except (ValueError, UnicodeDecodeError) as error:
        raise ctx.fail(400, "ValidationError", "The body is not JSON") from error


def _tag_keys(ctx: Context, keys: Any) -> set[str]:
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ctx.fail(400, "ValidationError", "The tags to delete must be a list of keys")
    return set(keys)


def forget_run(ctx: Context, ws: Workspace, run_id: str) -> None:
    """A job's delete takes its run document along (not its metrics, artifacts or blobs)."""
    ctx.store.delete(ws.key, "jh_run", run_id)


# -- metrics ----------------------------------------------------------------------------------
def list_metrics(ctx: Context, params: Params) -> Response:
    """POST /metric/v2.0{WS}/runs/{runId}/list: the run's metric definitions. Metrics outlive
    a run deleted before them (its job's delete does not take them): 404 only for a run that
    neither exists nor left metrics."""
    ws = ctx.workspace(params)
    args = history.query_args(ctx)
    docs = [item.doc for item in _metrics(ctx, ws, params["run"])]
    return history.answer(ctx, docs, args)


def delete_metrics(ctx: Context, params: Params) -> Response:
    """DELETE /metric/v2.0{WS}/runs/{runId}/deleteMetrics: every metric of the run, at once."""
    ws = ctx.workspace(params)
    _metrics(ctx, ws, params["run"])
    ctx.store.delete_children(ws.key, "jh_metric", params["run"])
    return json_response(200, {})


def _metrics(ctx: Context, ws: Workspace, run_id: str) -> list[Item]:
    found = ctx.store.children(ws.key, "jh_metric", run_id)
    if not found:
        _run(ctx, ws, run_id)  # 404 for a run that is not there
    return found


# -- artifacts --------------------------------------------------------------------------------
def list_artifacts(ctx: Context, params: Params) -> Response:
    """GET /artifact/v2.0{WS}/artifacts/prefix/contentinfo/{origin}/{container}[?path=]: the
    content URIs of a container's artifacts (soft-deleted ones hidden)."""
    ws = ctx.workspace(params)
    prefix = ctx.request.arg("path") or ""
    token = {"continuationtoken": ctx.request.arg("continuationToken", fold=True)}
    account = f"{ws.storage_account}.blob.core.windows.net"
    infos = [{"contentUri": content_uri(ctx, account, item.doc), "origin": item.doc["origin"],
              "container": item.doc["container"], "path": item.doc["path"]}
             for item in _artifacts(ctx, ws, params)
             if str(item.doc["path"]).startswith(prefix)]
    return history.answer(ctx, infos, token)


def list_container(ctx: Context, params: Params) -> Response:
    """GET /artifact/v2.0{WS}/artifacts/{origin}/{container}: the container's artifact
    records (no content URIs, so no SAS that changes on every read; soft-deleted ones
    hidden)."""
    ws = ctx.workspace(params)
    token = {"continuationtoken": ctx.request.arg("continuationToken", fold=True)}
    return history.answer(ctx, [item.doc for item in _artifacts(ctx, ws, params)], token)


def delete_artifacts(ctx: Context, params: Params) -> Response:
    """DELETE /artifact/v2.0{WS}/artifacts/{origin}/{container}/batch?hardDelete=: the
    container's artifact records (their blobs stay)."""
    ws = ctx.workspace(params)
    hard = (ctx.request.arg("hardDelete", fold=True) or "false").lower() == "true"
    for item in _artifacts(ctx, ws, params, include_soft=True):
        if hard:
            ctx.store.delete(ws.key, "jh_artifact", item.id)
        else:
            ctx.store.patch(ws.key, "jh_artifact", item.id, {"softDeleted": True})
    return json_response(200, {})


def _artifacts(ctx: Context, ws: Workspace, params: Params,
               include_soft: bool = False) -> list[Item]:
    if params["origin"] != "ExperimentRun":
        raise ctx.fail(404, "NotFoundError", f"Origin {params['origin']} was not found")
    items = ctx.store.children(ws.key, "jh_artifact", params["container"])
    return [item for item in items if include_soft or not item.doc.get("softDeleted")]


def blob(ctx: Context, ws: Workspace, path: str) -> Item | None:
    """A blob of the job history (what artifact contentUris point at), or None."""
    return ctx.store.get(ws.key, "jh_blob", path)


def _ws_path(ws: Workspace) -> str:
    return (f"/subscriptions/{ws.subscription}/resourceGroups/{ws.resource_group}/providers/"
            f"Microsoft.MachineLearningServices/workspaces/{ws.name}")
