"""Azure Resource Manager: workspaces (list, get, delete as a long-running operation), computes.

Compute lists answer summaries and compute gets the whole resource with live node counts (see
views.py); each get counts a read of the compute in the store, which moves its node state on.

The workspace delete removes the workspace and everything under it when the DELETE is accepted,
not when the operation completes: a real delete runs whether or not anyone polls, and a client
that dies mid-poll must find the workspace gone when it plans again. The operation then answers
`InProgress` `lro_polls` times before `Succeeded`.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit

from amlctl.emulator import views
from amlctl.emulator.context import Context, Params
from amlctl.emulator.envelopes import arm_error
from amlctl.emulator.paging import page
from amlctl.emulator.store import Workspace, dumps
from amlctl.emulator.wire import Response, empty_response, json_response

ARM_HOST = "management.azure.com"
API_VERSIONS = ("2018-03-01-preview", "2019-11-01")  # the article's two editions
# Every api-version of Microsoft.MachineLearningServices/workspaces before 2024, as the ARM
# template reference and the azure-rest-api-specs readme tags list them: SDKs send their own
# (azureml-core 2019-06-01 to 2022-05-01, azure-mgmt-machinelearningservices 1.0 2020-08-01),
# and ARM serves every version that exists. The article routes answer them all with the same
# bodies; 2024 and later belong to the current-API routes.
SERVED_VERSIONS = (
    "2018-03-01-preview", "2018-11-19", "2019-05-01", "2019-06-01", "2019-11-01",
    "2020-01-01", "2020-02-18-preview", "2020-03-01", "2020-04-01", "2020-04-01-preview",
    "2020-05-01-preview", "2020-05-15-preview", "2020-06-01", "2020-08-01", "2020-09-01-preview",
    "2021-01-01", "2021-03-01-preview", "2021-04-01", "2021-07-01", "2022-01-01-preview",
    "2022-02-01-preview", "2022-05-01", "2022-06-01-preview", "2022-10-01", "2022-10-01-preview",
    "2022-12-01-preview", "2023-02-01-preview", "2023-04-01", "2023-04-01-preview",
    "2023-06-01-preview", "2023-08-01-preview", "2023-10-01",
)
_VERSION_SHAPE = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")
_PROVIDER = "Microsoft.MachineLearningServices"


def check_api_version(ctx: Context) -> Response | None:
    """ARM refuses a request without a supported api-version before routing it: a malformed
    one is `InvalidApiVersionParameter`; a well-formed one the provider does not have is
    `NoRegisteredProviderFound`, as real ARM answered for workspaces (azure-sdk-for-js#4097,
    2019: "... for type 'workspaces'. The supported api-versions are '2018-03-01-preview,
    2018-11-19'."). Both list the supported versions."""
    version = ctx.request.arg("api-version")
    supported = ", ".join(SERVED_VERSIONS)
    if version is None:
        return arm_error(400, "MissingApiVersionParameter",
                         "The api-version query parameter (?api-version=) is required for all "
                         "requests.")
    if not _VERSION_SHAPE.match(version):
        return arm_error(400, "InvalidApiVersionParameter",
                         f"The api-version '{version}' is invalid. The supported versions are "
                         f"'{supported}'.")
    if version not in SERVED_VERSIONS:
        return arm_error(400, "NoRegisteredProviderFound",
                         f"No registered resource provider found for location 'global' and API "
                         f"version '{version}' for type '{_resource_type(ctx)}'. The supported "
                         f"api-versions are '{supported}'.")
    return None


def _resource_type(ctx: Context) -> str:
    """The resource type a path names, as ARM's errors do: `workspaces`,
    `workspaces/computes`, `locations/workspaceOperationsStatus`."""
    segments = ctx.request.segments
    if _PROVIDER.lower() not in (part.lower() for part in segments):
        return "workspaces"
    tail = segments[[part.lower() for part in segments].index(_PROVIDER.lower()) + 1:]
    return "/".join(tail[0::2]) or "workspaces"


def list_body(raws: list[str], next_link: str | None) -> str:
    """`{"value": [...], "nextLink": ...}` from stored JSON, without re-encoding the items."""
    tail = f',"nextLink":{json.dumps(next_link)}' if next_link else ""
    return '{"value":[' + ",".join(raws) + "]" + tail + "}"


def list_workspaces(ctx: Context, params: Params) -> Response:
    """GET .../resourceGroups/{rg}/providers/...MachineLearningServices/workspaces"""
    if not ctx.store.resource_group_exists(params["sub"], params["rg"]):
        raise ctx.fail(404, "ResourceGroupNotFound",
                       f"Resource group '{params['rg']}' could not be found.")
    rows, token = page(
        ctx, "arm", ctx.request.arg("$skiptoken", fold=True),
        lambda after, n: ctx.store.list_workspaces(params["sub"], params["rg"], after, n),
        lambda ws: ws.key)
    link = ctx.request.self_url({"$skiptoken": token}) if token else None
    return json_response(200, list_body([served_workspace(ctx, ws) for ws in rows], link))


def get_workspace(ctx: Context, params: Params) -> Response:
    ws = ctx.workspace(params)
    return json_response(200, served_workspace(ctx, ws), {"ETag": ws.etag})


def served_workspace(ctx: Context, ws: Workspace) -> str:
    """The workspace body with `properties.discoveryUrl` in the routed form, like every URL the
    emulator hands out: SDKs read it to find the data-plane hosts (see `discovery`)."""
    doc = ws.doc
    props = doc.get("properties") or {}
    url = urlsplit(str(props.get("discoveryUrl") or ""))
    if url.scheme != "https" or not url.hostname:
        return ws.raw
    props["discoveryUrl"] = ctx.request.routed(url.hostname, url.path)
    return dumps(doc)


def delete_workspace(ctx: Context, params: Params) -> Response:
    """DELETE a workspace: 204 if missing, 412 on an If-Match mismatch, else 202 (or 200)."""
    ws = ctx.store.get_workspace(params["sub"], params["rg"], params["ws"])
    if ws is None:
        return empty_response(204)
    condition = ctx.request.headers.get("if-match")
    if condition is not None and not etag_matches(condition, ws.etag):
        raise ctx.fail(412, "PreconditionFailed",
                       f"The condition '{condition}' in the If-Match header was not satisfied by "
                       f"the current etag of workspace '{ws.name}'.")
    ctx.store.delete_workspace(ws.key)
    if ctx.config.workspace_delete == "sync":
        return empty_response(200)
    return _accepted(ctx, ws)


def _accepted(ctx: Context, ws: Workspace) -> Response:
    op_id = str(uuid.uuid4())
    path = (f"/subscriptions/{ws.subscription}/providers/{_PROVIDER}/locations/{ws.location}"
            f"/workspaceOperationsStatus/{op_id}")
    ctx.store.put_operation(op_id, ws.key, ctx.config.lro_polls,
                            {"id": path, "name": op_id, "startTime": _now()})
    version = ctx.request.arg("api-version") or API_VERSIONS[-1]
    headers = {
        "Azure-AsyncOperation": ctx.request.routed(ARM_HOST, path,
                                                   {"api-version": version, "type": "async"}),
        "Location": ctx.request.routed(ARM_HOST, path, {"api-version": version,
                                                         "type": "location"}),
        **_retry_after(ctx),
    }
    return empty_response(202, headers)


def operation_status(ctx: Context, params: Params) -> Response:
    """GET the Azure-AsyncOperation (`type=async`) or Location (`type=location`) URL."""
    polled = ctx.store.poll_operation(params["op"])
    if polled is None:
        raise ctx.fail(404, "NotFound", f"Operation '{params['op']}' was not found.")
    left, doc = polled
    as_location = ctx.request.arg("type") == "location"
    if left > 0:
        if as_location:
            return empty_response(202, {"Location": ctx.request.self_url({}), **_retry_after(ctx)})
        return json_response(200, {**doc, "status": "InProgress"}, _retry_after(ctx))
    if as_location:
        return empty_response(200)
    done = {**doc, "status": "Succeeded", "endTime": _now(), "percentComplete": 100.0}
    return json_response(200, done)


def list_computes(ctx: Context, params: Params) -> Response:
    ws = ctx.workspace(params)
    rows, token = page(
        ctx, "arm", ctx.request.arg("$skiptoken", fold=True),
        lambda after, n: ctx.store.page(ws.key, "compute", after=after, limit=n),
        lambda item: item.id)
    link = ctx.request.self_url({"$skiptoken": token}) if token else None
    summaries = [dumps(views.compute_summary(item.doc)) for item in rows]
    return json_response(200, list_body(summaries, link))


def get_compute(ctx: Context, params: Params) -> Response:
    ws = ctx.workspace(params)
    item = ctx.store.get(ws.key, "compute", params["name"])
    if item is None:
        raise ctx.fail(404, "ResourceNotFound",
                       f"The Resource '{_PROVIDER}/workspaces/{ws.name}/computes/"
                       f"{params['name']}' under resource group '{ws.resource_group}' was not "
                       "found. For more details please go to https://aka.ms/ARMResourceNotFoundFix")
    reads = ctx.store.count_read(ws.key, "compute", item.id)
    return json_response(200, dumps(views.compute_detail(item.doc, reads)))


def etag_matches(condition: str, etag: str) -> bool:
    """If-Match semantics: `*` or any listed etag (weak or strong, quoted or not)."""
    def bare(value: str) -> str:
        value = value.strip()
        return (value[2:] if value.startswith("W/") else value).strip('"')

    return any(c.strip() == "*" or bare(c) == bare(etag) for c in condition.split(","))


def _retry_after(ctx: Context) -> dict[str, str]:
    seconds = ctx.config.lro_retry_after
    return {"Retry-After": str(seconds)} if seconds is not None else {}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0+00:00")
