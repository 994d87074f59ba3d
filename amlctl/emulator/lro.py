"""ARM long-running operations: a 202 naming where to poll, and the answers of those polls.

Three dialects, as the resource provider speaks them:

- `workspace` and `compute`: `Azure-AsyncOperation` and `Location` both point at
  `.../locations/{loc}/{workspace|compute}OperationsStatus/{id}`, told apart by `type=async` or
  `type=location` (captured for the workspace delete; the compute resource type is listed by
  the provider, its URL shape follows the workspace's).
- `mfe` (jobs, schedules, endpoints, deployments, feature sets, serverless endpoints,
  marketplace subscriptions): `Location` is `.../mfeOperationResults/{id}` and, where the
  service sends one, `Azure-AsyncOperation` is `.../mfeOperationsStatus/{id}`; with
  `x-ms-async-operation-timeout: PT30M`, as a captured batch endpoint delete shows.

A Location URL answers 202 while the operation runs, then 200 with an empty body; an
Azure-AsyncOperation URL answers 200 with `{"status": "InProgress"}`, then `Succeeded`. Either
counts as one poll of the same operation (`EmulatorConfig.lro_polls` polls run).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from amlctl.emulator.context import Context, Params
from amlctl.emulator.store import Workspace
from amlctl.emulator.wire import Response, empty_response, json_response

ARM_HOST = "management.azure.com"
_PROVIDER = "Microsoft.MachineLearningServices"
_MFE_TIMEOUT = {"x-ms-async-operation-timeout": "PT30M"}


def _locations(ws: Workspace) -> str:
    return f"/subscriptions/{ws.subscription}/providers/{_PROVIDER}/locations/{ws.location}"


def _version(ctx: Context, default: str) -> str:
    return ctx.request.arg("api-version") or default


def accept_typed(ctx: Context, ws: Workspace, resource: str, default_version: str) -> Response:
    """202 for a workspace or compute delete: both headers on `{resource}OperationsStatus`."""
    op_id = str(uuid.uuid4())
    path = f"{_locations(ws)}/{resource}OperationsStatus/{op_id}"
    ctx.store.put_operation(op_id, ws.key, ctx.config.lro_polls,
                            {"id": path, "name": op_id, "startTime": now()})
    version = _version(ctx, default_version)
    headers = {
        "Azure-AsyncOperation": ctx.request.routed(ARM_HOST, path,
                                                   {"api-version": version, "type": "async"}),
        "Location": ctx.request.routed(ARM_HOST, path, {"api-version": version,
                                                         "type": "location"}),
        **retry_after(ctx),
    }
    return empty_response(202, headers)


def accept_mfe(ctx: Context, ws: Workspace, prefix: str, with_async: bool,
               default_version: str) -> Response:
    """202 for an MFE delete: Location on mfeOperationResults, and Azure-AsyncOperation on
    mfeOperationsStatus when `with_async`. `prefix` starts the operation id as the service's
    do (`bebes:` for a batch endpoint); empty for a plain GUID."""
    op_id = f"{prefix}:{uuid.uuid4()}:{uuid.uuid4()}" if prefix else str(uuid.uuid4())
    status_path = f"{_locations(ws)}/mfeOperationsStatus/{op_id}"
    ctx.store.put_operation(op_id, ws.key, ctx.config.lro_polls,
                            {"id": status_path, "name": op_id, "startTime": now()})
    query = {"api-version": _version(ctx, default_version)}
    headers = {"Location": ctx.request.routed(ARM_HOST,
                                              f"{_locations(ws)}/mfeOperationResults/{op_id}",
                                              query),
               **_MFE_TIMEOUT, **retry_after(ctx)}
    if with_async:
        headers["Azure-AsyncOperation"] = ctx.request.routed(ARM_HOST, status_path, query)
    return empty_response(202, headers)


def typed_status(ctx: Context, params: Params) -> Response:
    """GET `.../{workspace|compute}OperationsStatus/{id}`: `type=location` polls as Location."""
    return poll(ctx, params, as_location=ctx.request.arg("type") == "location")


def mfe_result(ctx: Context, params: Params) -> Response:
    """GET `.../mfeOperationResults/{id}` (a Location URL)."""
    return poll(ctx, params, as_location=True)


def mfe_status(ctx: Context, params: Params) -> Response:
    """GET `.../mfeOperationsStatus/{id}` (an Azure-AsyncOperation URL)."""
    return poll(ctx, params, as_location=False)


def poll(ctx: Context, params: Params, *, as_location: bool) -> Response:
    """One poll of an operation, in the dialect of the URL polled."""
    polled = ctx.store.poll_operation(params["op"])
    if polled is None:
        raise ctx.fail(404, "NotFound", f"Operation '{params['op']}' was not found.")
    left, doc = polled
    if left > 0:
        if as_location:
            return empty_response(202, {"Location": ctx.request.self_url({}), **retry_after(ctx)})
        return json_response(200, {**doc, "status": "InProgress"}, retry_after(ctx))
    if as_location:
        return empty_response(200)
    return json_response(200, {**doc, "status": "Succeeded", "endTime": now(),
                               "percentComplete": 100.0})


def retry_after(ctx: Context) -> dict[str, str]:
    seconds = ctx.config.lro_retry_after
    return {"Retry-After": str(seconds)} if seconds is not None else {}


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0+00:00")
