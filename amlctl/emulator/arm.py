"""Azure Resource Manager: workspaces (list, get, delete as a long-running operation), computes.

Both generations of the API meet here. The article-era api-versions answer as they did then:
no `systemData`, no compute types they do not define (compute instances), computes listed as
summaries (see views.py), and a workspace delete that removes everything. The current
api-version answers with `systemData`, every compute (settings in lists, live node counts in
gets), and deletes a workspace softly unless `forceToPurge=true` (see `delete_workspace`).
Each compute get counts a read in the store, which moves its node state on.

A workspace delete takes effect when the DELETE is accepted, not when the operation completes:
a real delete runs whether or not anyone polls, and a client that dies mid-poll must find the
workspace gone when it plans again. The operation then answers `InProgress` `lro_polls` times
before `Succeeded` (see lro.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from amlctl.emulator import lro, views
from amlctl.emulator.context import Context, Params
from amlctl.emulator.envelopes import arm_error
from amlctl.emulator.paging import page, size_arg
from amlctl.emulator.store import Item, Value, Workspace, dumps
from amlctl.emulator.wire import Response, empty_response, json_response

ARM_HOST = "management.azure.com"
# Every api-version of Microsoft.MachineLearningServices/workspaces before 2024, as the ARM
# template reference and the azure-rest-api-specs readme tags list them: SDKs send their own
# (azureml-core 2019-06-01 to 2022-05-01, azure-mgmt-machinelearningservices 1.0 2020-08-01),
# and ARM serves every version that exists. The article routes answer them all with the same
# bodies, and the workspace routes the current catalog's version too.
SERVED_VERSIONS = (
    "2018-03-01-preview", "2018-11-19", "2019-05-01", "2019-06-01", "2019-11-01",
    "2020-01-01", "2020-02-18-preview", "2020-03-01", "2020-04-01", "2020-04-01-preview",
    "2020-05-01-preview", "2020-05-15-preview", "2020-06-01", "2020-08-01", "2020-09-01-preview",
    "2021-01-01", "2021-03-01-preview", "2021-04-01", "2021-07-01", "2022-01-01-preview",
    "2022-02-01-preview", "2022-05-01", "2022-06-01-preview", "2022-10-01", "2022-10-01-preview",
    "2022-12-01-preview", "2023-02-01-preview", "2023-04-01", "2023-04-01-preview",
    "2023-06-01-preview", "2023-08-01-preview", "2023-10-01",
)
ARTICLE_VERSIONS = SERVED_VERSIONS
CURRENT_VERSIONS = ("2026-05-01",)  # the current catalog's (azureml-current)
# What azure-ai-ml 1.35.2 (the v2 SDK, `MLClient`) sends on the current API's routes: it pins
# one generated client per api-version and picks one per operation group (jobs, components
# 2024-01-01-preview; models 2023-08-01-preview; data, environments 2023-04-01-preview;
# datastores, workspaces 2024-10-01-preview; online endpoints and deployments
# 2022-02-01-preview; batch endpoints 2023-10-01; schedules 2023-06-01-preview; computes
# 2024-10-01-preview). tests/sdk/test_azure_ai_ml.py. The routes answer them with the
# 2026-05-01 bodies; the versions the article already lists keep the article's bodies on the
# workspace and compute routes (`is_current`).
SDK_V2_VERSIONS = (
    "2022-02-01-preview", "2023-04-01-preview", "2023-06-01-preview", "2023-08-01-preview",
    "2023-10-01", "2024-01-01-preview", "2024-10-01-preview",
)
_SDK_V2_ONLY = tuple(v for v in SDK_V2_VERSIONS if v not in ARTICLE_VERSIONS)
# accepted on the current API's routes (routes.py)
CURRENT_ROUTE_VERSIONS = tuple(sorted(set(CURRENT_VERSIONS + SDK_V2_VERSIONS)))
API_VERSIONS = ARTICLE_VERSIONS + _SDK_V2_ONLY + CURRENT_VERSIONS
_VERSION_SHAPE = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")
_PROVIDER = "Microsoft.MachineLearningServices"
# Compute types the article-era api-versions define (2019-11-01, 2018-03-01-preview); compute
# instances and every later type came after, and those versions neither list nor get them.
ARTICLE_COMPUTE_TYPES = ("AKS", "AmlCompute", "Databricks", "DataFactory", "DataLakeAnalytics",
                         "HDInsight", "VirtualMachine")


def check_api_version(ctx: Context, versions: tuple[str, ...] = API_VERSIONS,
                      resource_type: str = "workspaces") -> Response | None:
    """ARM refuses a request without an api-version its resource type supports, before the
    resource provider sees it: a malformed one is `InvalidApiVersionParameter`; a well-formed
    one the provider does not have is `NoRegisteredProviderFound`, as real ARM answered for
    workspaces (azure-sdk-for-js#4097, 2019). Both list the supported versions."""
    version = ctx.request.arg("api-version")
    supported = ", ".join(versions)
    if version is None:
        return arm_error(400, "MissingApiVersionParameter",
                         "The api-version query parameter (?api-version=) is required for all "
                         "requests.")
    if not _VERSION_SHAPE.match(version):
        return arm_error(400, "InvalidApiVersionParameter",
                         f"The api-version '{version}' is invalid. The supported versions are "
                         f"'{supported}'.")
    if version not in versions:
        return arm_error(400, "NoRegisteredProviderFound",
                         f"No registered resource provider found for location 'global' and API "
                         f"version '{version}' for type '{resource_type}'. The supported "
                         f"api-versions are '{supported}'.")
    return None


def is_current(ctx: Context) -> bool:
    """Whether the request speaks the current API (else one of the article's editions): the
    bodies differ (systemData, compute instances), and so does the workspace delete."""
    version = ctx.request.arg("api-version")
    return version in CURRENT_VERSIONS or version in _SDK_V2_ONLY


def article_body(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A resource as the article-era api-versions answer it: ARM added `systemData` later."""
    return {key: value for key, value in doc.items() if key != "systemData"}


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
    return json_response(200, list_body([_workspace_body(ctx, ws) for ws in rows], link))


def get_workspace(ctx: Context, params: Params) -> Response:
    ws = ctx.workspace(params)
    return json_response(200, _workspace_body(ctx, ws), {"ETag": ws.etag})


def _workspace_body(ctx: Context, ws: Workspace) -> str:
    """The workspace as the request's api-version shows it, with `properties.discoveryUrl` in
    the routed form, like every URL the emulator hands out: SDKs read it to find the
    data-plane hosts (see `discovery`)."""
    doc = ws.doc if is_current(ctx) else article_body(ws.doc)
    props = doc.get("properties") or {}
    url = urlsplit(str(props.get("discoveryUrl") or ""))
    if url.scheme == "https" and url.hostname:
        props["discoveryUrl"] = ctx.request.routed(url.hostname, url.path)
    return dumps(doc)


# What a soft delete removes at once (Microsoft's soft-delete article): computes, inference
# endpoints and their deployments, and jobs that are queued or running. The rest stays, hidden,
# until the workspace is purged.
SOFT_DELETE_HARD: dict[str, Mapping[str, Value]] = {
    "compute": {}, "online_endpoint": {}, "online_deployment": {}, "batch_endpoint": {},
    "batch_deployment": {}, "serverless_endpoint": {},
    "job": {"properties.status": ("NotStarted", "Queued", "Preparing", "Provisioning",
                                  "Starting", "Running", "Finalizing", "CancelRequested")},
}
SOFT_DELETE_DAYS = 14


def delete_workspace(ctx: Context, params: Params) -> Response:
    """DELETE a workspace: 204 if missing, 412 on an If-Match mismatch, else 202 (or 200).

    The article-era api-versions remove the workspace and everything in it. The current one
    soft-deletes it (kept 14 days, name taken, computes, endpoints and running jobs gone at
    once) unless `forceToPurge=true`, which removes it for good, and purges one already
    soft-deleted; a soft-deleted workspace is otherwise absent (204)."""
    purge = _force_to_purge(ctx)
    ws = ctx.store.get_workspace(params["sub"], params["rg"], params["ws"])
    if ws is None:
        deleted = ctx.store.deleted_workspace(params["sub"], params["rg"], params["ws"])
        if purge and deleted is not None:
            ctx.store.delete_workspace(deleted.workspace.key)
            return lro.accept_typed(ctx, deleted.workspace, "workspace", API_VERSIONS[-1])
        return empty_response(204)
    condition = ctx.request.headers.get("if-match")
    if condition is not None and not etag_matches(condition, ws.etag):
        raise ctx.fail(412, "PreconditionFailed",
                       f"The condition '{condition}' in the If-Match header was not satisfied by "
                       f"the current etag of workspace '{ws.name}'.")
    if is_current(ctx) and not purge:
        moment = datetime.now(UTC)
        ctx.store.soft_delete_workspace(
            ws.key, _stamp(moment), _stamp(moment + timedelta(days=SOFT_DELETE_DAYS)),
            SOFT_DELETE_HARD)
    else:
        ctx.store.delete_workspace(ws.key)
    if ctx.config.workspace_delete == "sync":
        return empty_response(200)
    return lro.accept_typed(ctx, ws, "workspace", API_VERSIONS[-1])


def _force_to_purge(ctx: Context) -> bool:
    value = ctx.request.arg("forceToPurge", fold=True)
    if value is None:
        return False
    if value.lower() not in ("true", "false"):
        raise ctx.fail(400, "InvalidParameter",
                       f"forceToPurge must be true or false, not '{value}'.")
    return value.lower() == "true" and is_current(ctx)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f0+00:00")


ARTICLE_EDITIONS = ("2018-03-01-preview", "2019-11-01")  # the two the article was written for


def knows_compute_instances(ctx: Context) -> bool:
    """Compute instances (and the later compute types) came after the article's two editions:
    every later api-version lists them, SDK v2's 2023 ones included."""
    return ctx.request.arg("api-version") not in ARTICLE_EDITIONS


def list_computes(ctx: Context, params: Params) -> Response:
    ws = ctx.workspace(params)
    current = is_current(ctx)
    where = (
        {} if knows_compute_instances(ctx) else {"properties.computeType": ARTICLE_COMPUTE_TYPES}
    )
    family = "mfe" if current else "arm"
    token_arg = "$skip" if current else "$skiptoken"
    rows, token = page(
        ctx, family, ctx.request.arg(token_arg, fold=True),
        lambda after, n: ctx.store.page(ws.key, "compute", after=after, limit=n, where=where),
        lambda item: item.id, size_arg(ctx, "count") if current else None)
    link = ctx.request.self_url({token_arg: token}) if token else None
    listed = [item.raw if current else dumps(views.compute_summary(item.doc)) for item in rows]
    return json_response(200, list_body(listed, link))


def get_compute(ctx: Context, params: Params) -> Response:
    ws, item = find_compute(ctx, params)
    if item is None:
        raise ctx.fail(404, "ResourceNotFound",
                       f"The Resource '{_PROVIDER}/workspaces/{ws.name}/computes/"
                       f"{params['name']}' under resource group '{ws.resource_group}' was not "
                       "found. For more details please go to https://aka.ms/ARMResourceNotFoundFix")
    reads = ctx.store.count_read(ws.key, "compute", item.id)
    doc = item.doc
    if not is_current(ctx):
        return json_response(200, dumps(views.compute_detail(article_body(doc), reads)))
    live = doc.get("properties", {}).get("computeType") == "AmlCompute"
    return json_response(200, dumps(views.compute_detail(doc, reads) if live else doc))


def find_compute(ctx: Context, params: Params) -> tuple[Workspace, Item | None]:
    """The workspace and the compute the path names, None for a compute the request's
    api-version does not know (a compute instance, to an article-era version)."""
    ws = ctx.workspace(params)
    item = ctx.store.get(ws.key, "compute", params["name"])
    known = knows_compute_instances(ctx) or (
        item is not None and item.doc.get("properties", {}).get("computeType")
        in ARTICLE_COMPUTE_TYPES)
    return ws, item if known else None


def etag_matches(condition: str, etag: str) -> bool:
    """If-Match semantics: `*` or any listed etag (weak or strong, quoted or not)."""
    def bare(value: str) -> str:
        value = value.strip()
        return (value[2:] if value.startswith("W/") else value).strip('"')

    return any(c.strip() == "*" or bare(c) == bare(etag) for c in condition.split(","))
