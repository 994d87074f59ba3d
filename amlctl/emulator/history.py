"""Run history as the SDKs call it (2019-08-01 spec and azureml-core 1.x): `experiments:query`,
`experiments/{name}`, `experimentids/{id}[/runs/{runId}]`, `experiments/{name}/runs:query`
and run details.

The article's GET lists (dataplane.py) page by id; these queries filter and order by any
field (see odata.py), so they read an experiment's items whole and page the ordered result by
offset. The bodies are `QueryParams` (`filter`, `continuationToken`, `orderby`, `top`, and
`viewType` for experiments); keys are matched case-insensitively, as the service's JSON
binding does. Answers are `{"value", "continuationToken", "nextLink": null}` like the lists.
"""

from __future__ import annotations

from typing import Any

from amlctl.emulator import odata
from amlctl.emulator.context import Context, Params
from amlctl.emulator.dataplane import content_uri, token_body
from amlctl.emulator.paging import page_list
from amlctl.emulator.store import Item, dumps
from amlctl.emulator.wire import Response, json_response

_VIEW_TYPES = {"activeonly": False, "archivedonly": True, "all": None}  # -> archived wanted
_LOG_PREFIXES = ("logs/", "azureml-logs/", "user_logs/")


def query_args(ctx: Context) -> dict[str, Any]:
    """The body's fields under lowercased names."""
    return {str(key).lower(): value for key, value in ctx.json_body().items()}


def _top(ctx: Context, args: dict[str, Any]) -> int | None:
    top = args.get("top")
    if top is None:
        return None
    if not isinstance(top, int) or isinstance(top, bool) or not 1 <= top <= 10000:
        raise ctx.fail(400, "ValidationError", "top must be an integer from 1 to 10000")
    return top


def filtered(ctx: Context, items: list[Item], args: dict[str, Any], id_key: str) -> list[Any]:
    """The items' documents that pass the filter, in the asked order (400 if unreadable)."""
    try:
        keep = odata.parse_filter(args.get("filter"))
        docs = [item.doc for item in items if keep(item.doc)]
        return odata.sort_docs(docs, args.get("orderby"), id_key)
    except ValueError as error:
        raise ctx.fail(400, "ValidationError", f"Invalid query: {error}") from error


def answer(ctx: Context, docs: list[Any], args: dict[str, Any]) -> Response:
    token = args.get("continuationtoken")
    rows, next_token = page_list(ctx, "history", str(token) if token else None, docs,
                                 _top(ctx, args))
    return json_response(200, token_body([dumps(doc) for doc in rows], next_token))


def query_experiments(ctx: Context, params: Params, kind: str = "experiment") -> Response:
    """POST /experiments:query; `viewType` ActiveOnly (default), ArchivedOnly or All. `kind`
    is the store kind the experiments are kept as (jobhistory.py keeps its own)."""
    ws = ctx.workspace(params)
    args = query_args(ctx)
    view = str(args.get("viewtype") or "ActiveOnly").lower()
    if view not in _VIEW_TYPES:
        raise ctx.fail(400, "ValidationError", f"Unknown viewType {args.get('viewtype')!r}")
    archived = _VIEW_TYPES[view]
    items = [item for item in ctx.store.page(ws.key, kind)
             if archived is None or (item.doc.get("archivedTime") is not None) == archived]
    return answer(ctx, filtered(ctx, items, args, "name"), args)


def get_experiment(ctx: Context, params: Params) -> Response:
    """GET /experiments/{name}."""
    ws = ctx.workspace(params)
    item = ctx.store.get(ws.key, "experiment", params["exp"])
    if item is None:
        raise ctx.fail(404, "NotFoundError", f"Experiment {params['exp']} was not found")
    return json_response(200, item.raw)


def _experiment_by_id(ctx: Context, params: Params) -> Item:
    ws = ctx.workspace(params)
    found = ctx.store.page(ws.key, "experiment", where={"experimentId": params["id"]}, limit=1)
    if not found:
        raise ctx.fail(404, "NotFoundError", f"Experiment {params['id']} was not found")
    return found[0]


def get_experiment_by_id(ctx: Context, params: Params) -> Response:
    """GET /experimentids/{experimentId}."""
    return json_response(200, _experiment_by_id(ctx, params).raw)


def get_run_by_experiment_id(ctx: Context, params: Params) -> Response:
    """GET /experimentids/{experimentId}/runs/{runId} (azureml-core resolves a model's run this
    way)."""
    experiment = _experiment_by_id(ctx, params)
    run = ctx.store.get(experiment.ws, "run", params["run"])
    if run is None or run.parent != experiment.id:
        raise ctx.fail(404, "NotFoundError", f"Run {params['run']} was not found")
    return json_response(200, run.raw)


def query_runs(ctx: Context, params: Params) -> Response:
    """POST /experiments/{name}/runs:query."""
    get_experiment(ctx, params)
    ws = ctx.workspace(params)
    args = query_args(ctx)
    items = ctx.store.page(ws.key, "run", parent=params["exp"])
    return answer(ctx, filtered(ctx, items, args, "runId"), args)


def get_run_details(ctx: Context, params: Params) -> Response:
    """GET /experiments/{name}/runs/{runId}/details: `RunDetails`, with `logFiles` mapping each
    log the run stored to its content URI."""
    get_experiment(ctx, params)
    ws = ctx.workspace(params)
    run = ctx.store.get(ws.key, "run", params["run"])
    if run is None or run.parent != params["exp"]:
        raise ctx.fail(404, "NotFoundError", f"Run {params['run']} was not found")
    container = str(run.doc.get("dataContainerId") or f"dcid.{run.id}")
    logs = {item.doc["path"]: content_uri(ctx, f"{ws.storage_account}.blob.core.windows.net",
                                          item.doc)
            for item in ctx.store.page(ws.key, "artifact", parent=container)
            if str(item.doc.get("path", "")).startswith(_LOG_PREFIXES)}
    return json_response(200, _details(run.doc, logs))


def _details(doc: dict[str, Any], logs: dict[str, str]) -> dict[str, Any]:
    keys = ("runId", "runUuid", "parentRunId", "rootRunId", "target", "status",
            "startTimeUtc", "endTimeUtc", "error", "warnings", "tags", "properties",
            "runDefinition", "revision", "createdBy", "createdUtc", "runNumber")
    details = {key: doc.get(key) for key in keys if key in doc}
    return {**details, "services": {}, "inputDatasets": [], "outputDatasets": [],
            "logFiles": logs}
