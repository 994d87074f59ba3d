"""The URL table: which Azure host family, method and path pattern go to which handler.

A request for `https://<azure-host>/<path>` arrives as `/<azure-host>/<path>`; the host picks the
family, the decoded path segments pick the route. `{name}` matches one segment, `{name*}` the
rest of the path; literal segments match case-insensitively, as the real front doors do.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from amlctl.emulator import arm, dataplane, history, jobhistory, lro, mfe, mms, pipelines
from amlctl.emulator.context import Context, Params
from amlctl.emulator.wire import Response

Handler = Callable[[Context, Params], Response]

_PROVIDER = "Microsoft.MachineLearningServices"
RG = "subscriptions/{sub}/resourceGroups/{rg}"
WS = RG + f"/providers/{_PROVIDER}/workspaces/{{ws}}"
LOCATIONS = f"subscriptions/{{sub}}/providers/{_PROVIDER}/locations/{{loc}}"

_HOSTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^management\.azure\.com$"), "arm"),
    (re.compile(r"^([a-z0-9-]+)\.experiments\.azureml\.net$"), "dataplane"),
    (re.compile(r"^([a-z0-9-]+)\.api\.azureml\.ms$"), "unified"),
    (re.compile(r"^([a-z0-9-]+)\.modelmanagement\.azureml\.net$"), "mms"),
    (re.compile(r"^([a-z0-9-]+)\.aether\.ms$"), "aether"),
    (re.compile(r"^[a-z0-9]{3,24}\.blob\.core\.windows\.net$"), "blob"),
)


@dataclass(frozen=True)
class Route:
    family: str
    method: str
    template: str
    handler: Handler
    # ARM: the api-versions this resource type answers (empty: every one the emulator knows)
    api_versions: tuple[str, ...] = ()
    parts: tuple[str, ...] = field(init=False)
    resource_type: str = field(init=False)  # ARM: e.g. workspaces/jobs, for error messages

    def __post_init__(self) -> None:
        object.__setattr__(self, "parts", tuple(self.template.split("/")))
        _, _, below = self.template.partition(_PROVIDER + "/")
        literal = [part for part in below.split("/") if part and not part.startswith("{")]
        object.__setattr__(self, "resource_type", "/".join(literal))

    def match(self, segments: tuple[str, ...]) -> Params | None:
        """The path parameters if `segments` fit this template, else None."""
        params: Params = {}
        for index, part in enumerate(self.parts):
            if part.endswith("*}"):
                rest = segments[index:]
                if not rest:
                    return None
                params[part[1:-2]] = "/".join(rest)
                return params
            if index >= len(segments):
                return None
            if part.startswith("{"):
                params[part[1:-1]] = segments[index]
            elif part.lower() != segments[index].lower():
                return None
        return params if len(segments) == len(self.parts) else None


CURRENT = arm.CURRENT_ROUTE_VERSIONS
# The current API's collections under a workspace (mfe.py), each at the current api-version
# and the ones azure-ai-ml sends (arm.SDK_V2_VERSIONS).
_MFE = tuple(Route("arm", method, f"{WS}/{path}", handler, CURRENT)
             for collection in mfe.COLLECTIONS
             for method, path, handler in mfe.handlers(collection))

# The current API's run history, metrics and artifacts, on the unified host (jobhistory.py).
_UNIFIED = (
    Route("unified", "POST", "history/v1.0/" + WS + "/experiments:query",
          jobhistory.query_experiments),
    Route("unified", "GET", "history/v1.0/" + WS + "/experimentids/{id}",
          jobhistory.get_experiment),
    Route("unified", "DELETE", "history/v1.0/" + WS + "/experimentids/{id}",
          jobhistory.delete_experiment),
    Route("unified", "GET", "history/v1.0/" + WS + "/operations/{op}",
          jobhistory.experiment_operation),
    Route("unified", "POST", "history/v1.0/" + WS + "/experimentids/{id}/runs:query",
          jobhistory.query_runs),
    Route("unified", "GET", "history/v1.0/" + WS + "/runs/{run}", jobhistory.get_run),
    Route("unified", "DELETE", "history/v1.0/" + WS + "/runs/{run}/tags",
          jobhistory.delete_run_tags),
    Route("unified", "POST", "history/v1.0/" + WS + "/experimentids/{id}/tags:delete",
          jobhistory.delete_experiment_tags),
    Route("unified", "POST", "metric/v2.0/" + WS + "/runs/{run}/list", jobhistory.list_metrics),
    Route("unified", "DELETE", "metric/v2.0/" + WS + "/runs/{run}/deleteMetrics",
          jobhistory.delete_metrics),
    Route("unified", "GET", "artifact/v2.0/" + WS
          + "/artifacts/prefix/contentinfo/{origin}/{container}", jobhistory.list_artifacts),
    Route("unified", "GET", "artifact/v2.0/" + WS + "/artifacts/{origin}/{container}",
          jobhistory.list_container),
    Route("unified", "DELETE", "artifact/v2.0/" + WS + "/artifacts/{origin}/{container}/batch",
          jobhistory.delete_artifacts),
)

ROUTES: tuple[Route, ...] = (
    Route("arm", "GET", WS.rsplit("/", 1)[0], arm.list_workspaces),
    Route("arm", "GET", WS, arm.get_workspace),
    Route("arm", "DELETE", WS, arm.delete_workspace),
    Route("arm", "GET", WS + "/computes", arm.list_computes),
    Route("arm", "GET", WS + "/computes/{name}", arm.get_compute),
    Route("arm", "DELETE", WS + "/computes/{name}", mfe.delete_compute, CURRENT),
    Route("arm", "GET", LOCATIONS + "/workspaceOperationsStatus/{op}", lro.typed_status),
    Route("arm", "GET", LOCATIONS + "/computeOperationsStatus/{op}", lro.typed_status),
    Route("arm", "GET", LOCATIONS + "/mfeOperationResults/{op}", lro.mfe_result, CURRENT),
    Route("arm", "GET", LOCATIONS + "/mfeOperationsStatus/{op}", lro.mfe_status, CURRENT),
    *_MFE,
    Route("dataplane", "GET", "discovery", dataplane.discovery),
    Route("dataplane", "GET", "history/v1.0/" + WS + "/experiments", dataplane.list_experiments),
    Route("dataplane", "GET", "history/v1.0/" + WS + "/experiments/{exp}/runs",
          dataplane.list_runs),
    Route("dataplane", "GET", "history/v1.0/" + WS + "/experiments/{exp}/runs/{run}",
          dataplane.get_run),
    # what azureml-core calls (2019-08-01 spec): queries, an experiment by name, run details
    Route("dataplane", "POST", "history/v1.0/" + WS + "/experiments:query",
          history.query_experiments),
    Route("dataplane", "GET", "history/v1.0/" + WS + "/experiments/{exp}", history.get_experiment),
    Route("dataplane", "GET", "history/v1.0/" + WS + "/experimentids/{id}",
          history.get_experiment_by_id),
    Route("dataplane", "GET", "history/v1.0/" + WS + "/experimentids/{id}/runs/{run}",
          history.get_run_by_experiment_id),
    Route("dataplane", "POST", "history/v1.0/" + WS + "/experiments/{exp}/runs:query",
          history.query_runs),
    Route("dataplane", "GET", "history/v1.0/" + WS + "/experiments/{exp}/runs/{run}/details",
          history.get_run_details),
    Route("dataplane", "GET", "history/v1.0/" + WS + "/experiments/{exp}/metrics",
          dataplane.list_metrics),
    Route("dataplane", "GET", "history/v1.0/" + WS + "/experiments/{exp}/metrics/{metric}",
          dataplane.get_metric),
    Route("dataplane", "GET", "artifact/v1.0/" + WS
          + "/artifacts/origins/ExperimentRun/containers/{container}", dataplane.list_artifacts),
    Route("dataplane", "GET", "artifact/v2.0/" + WS
          + "/artifacts/prefix/contentinfo/{origin}/{container}/{path*}",
          dataplane.list_content_by_prefix),
    Route("dataplane", "GET", "notification/v1.0/" + WS + "/tasks", dataplane.list_tasks),
    Route("dataplane", "GET", "notification/v1.0/" + WS + "/tasks/{task}", dataplane.get_task),
    Route("dataplane", "GET", "datastore/v1.0/" + WS + "/datastores", dataplane.list_datastores),
    Route("dataplane", "GET", "datastore/v1.0/" + WS + "/datastores/{name}",
          dataplane.get_datastore),
    # model management answers under the article's `/api` and azureml-core's `/modelmanagement/v1.0`
    *(Route("mms", method, prefix + WS + tail, handler)
      for prefix in ("api/", "modelmanagement/v1.0/")
      for method, tail, handler in (("GET", "/operations/{op}", mms.get_operation),
                                    ("GET", "/{kind}", mms.list_items),
                                    ("GET", "/{kind}/{id}", mms.get_item),
                                    ("DELETE", "/{kind}/{id}", mms.delete_item))),
    Route("aether", "GET", "api/v1.0/" + WS + "/{pkind}/{id}", pipelines.get_entity),
    *_UNIFIED,
    Route("blob", "GET", "azureml/ExperimentRun/{container}/{path*}", dataplane.get_blob),
)


def classify_host(host: str) -> tuple[str, str]:
    """(family, region) for an Azure host; ("unknown", "") for hosts the emulator does not serve."""
    for pattern, family in _HOSTS:
        found = pattern.match(host)
        if found:
            region = found.group(1) if found.groups() else ""
            return family, region
    return "unknown", ""


@dataclass(frozen=True)
class Match:
    route: Route | None
    params: Params
    allowed: tuple[str, ...]  # methods the path supports when `route` is None (405)


def match(family: str, method: str, segments: tuple[str, ...]) -> Match:
    """The route for a request, or the methods its path allows, or nothing (404)."""
    allowed: list[str] = []
    for route in ROUTES:
        if route.family != family:
            continue
        params = route.match(segments)
        if params is None:
            continue
        if route.method == method:
            return Match(route, params, ())
        allowed.append(route.method)
    return Match(None, {}, tuple(sorted(set(allowed))))
