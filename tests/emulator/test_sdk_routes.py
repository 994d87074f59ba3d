"""The calls Microsoft's SDKs make beyond the article's list, answered as the services do:
workspace discovery, the run-history queries, run details, model management under
`/modelmanagement/v1.0`, artifact content by prefix, and datastores as `datastore.json`
shapes them. (tests/sdk drives the SDKs themselves; these pin the wire.)"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from amlctl.emulator import odata
from amlctl.emulator.seed import DEMO_MODEL_IDS, SUBJECT_RUN_IDS

from .conftest import ARM, ARM_V, HISTORY, MMS, MMS_V, WS_PATH, Emu, no_token_session

HIST = "/history/v1.0" + WS_PATH
RUN = SUBJECT_RUN_IDS[0]  # churn-model_1709287200_8f3a2c11, Completed


def post(emu: Emu, path: str, body: Any) -> requests.Response:
    return emu.session.post(emu.url(HISTORY, path), data=json.dumps(body),
                            headers={"Content-Type": "application/json"}, timeout=10)


def test_the_workspace_points_sdks_at_the_emulator_discovery(emu: Emu) -> None:
    ws = emu.get(ARM, WS_PATH, ARM_V).json()
    url = ws["properties"]["discoveryUrl"]
    assert url == f"{emu.origin}/{HISTORY}/discovery"
    services = no_token_session().get(url, timeout=10)  # public, as the real one
    assert services.status_code == 200
    urls = services.json()
    assert urls["history"] == urls["experimentation"] == f"{emu.origin}/{HISTORY}"
    assert urls["modelmanagement"] == f"{emu.origin}/{MMS}"
    assert urls["pipelines"] == f"{emu.origin}/eastus.aether.ms"
    assert all(value.startswith(emu.origin + "/") for value in urls.values())
    assert {"api", "catalog", "gallery", "hyperdrive", "studio"} <= set(urls)


def test_the_workspace_list_routes_discovery_too(emu: Emu) -> None:
    listed = emu.get(ARM, WS_PATH.rsplit("/", 1)[0], ARM_V).json()["value"]
    regions = {ws["name"]: ws["properties"]["discoveryUrl"] for ws in listed}
    assert regions["demo-ws-eu"] == f"{emu.origin}/westeurope.experiments.azureml.net/discovery"


def test_experiments_query_filters_orders_and_pages(emu: Emu) -> None:
    everything = post(emu, HIST + "/experiments:query", {})
    assert [e["name"] for e in everything.json()["value"]] == ["churn-model", "fraud-detect",
                                                                 "sandbox"]
    named = post(emu, HIST + "/experiments:query", {"filter": "(name eq fraud-detect)"})
    assert [e["name"] for e in named.json()["value"]] == ["fraud-detect"]
    first = post(emu, HIST + "/experiments:query", {"top": 2, "orderby": "name desc"}).json()
    assert [e["name"] for e in first["value"]] == ["sandbox", "fraud-detect"]
    rest = post(emu, HIST + "/experiments:query",
                {"top": 2, "orderby": "name desc",
                 "continuationToken": first["continuationToken"]}).json()
    assert [e["name"] for e in rest["value"]] == ["churn-model"]
    assert rest["continuationToken"] is None and rest["nextLink"] is None
    archived = post(emu, HIST + "/experiments:query", {"viewType": "ArchivedOnly"})
    assert archived.json()["value"] == []


@pytest.mark.parametrize("body", [{"filter": "(name eq"}, {"filter": "name like x"},
                                  {"top": 0}, {"orderby": "name sideways"},
                                  {"viewType": "Sometimes"}, ["not", "an", "object"]])
def test_an_unreadable_query_is_400_not_ignored(emu: Emu, body: Any) -> None:
    response = post(emu, HIST + "/experiments:query", body)
    assert response.status_code == 400
    assert response.json()["error"]["innerError"]["code"] == "ValidationError"


def test_runs_query_takes_what_azureml_core_sends(emu: Emu) -> None:
    body = {"filter": "(ParentRunId eq null)", "orderby": "StartTimeUtc desc", "top": 500}
    runs = post(emu, HIST + "/experiments/churn-model/runs:query", body).json()["value"]
    starts = [run["startTimeUtc"] for run in runs]
    assert len(runs) == 3 and starts == sorted(starts, reverse=True)
    done = post(emu, HIST + "/experiments/churn-model/runs:query",
                {"filter": "((Status eq Completed) and (Target eq cpu-cluster))"})
    assert [run["runId"] for run in done.json()["value"]] == [RUN]
    later = post(emu, HIST + "/experiments/churn-model/runs:query",
                 {"filter": "(CreatedUtc ge 2024-03-02 00:00:00)"})
    assert RUN not in {run["runId"] for run in later.json()["value"]}
    missing = post(emu, HIST + "/experiments/nope/runs:query", {})
    assert missing.status_code == 404


def test_experiments_by_name_and_by_id(emu: Emu) -> None:
    experiment = emu.get(HISTORY, HIST + "/experiments/churn-model").json()
    by_id = emu.get(HISTORY, HIST + f"/experimentids/{experiment['experimentId']}").json()
    assert by_id == experiment
    run = emu.get(HISTORY, HIST + f"/experimentids/{experiment['experimentId']}/runs/{RUN}")
    assert run.status_code == 200 and run.json()["runId"] == RUN
    assert emu.get(HISTORY, HIST + "/experiments/nope").status_code == 404
    assert emu.get(HISTORY, HIST + "/experimentids/nope").status_code == 404


def test_run_details_link_the_logs(emu: Emu) -> None:
    details = emu.get(HISTORY, HIST + f"/experiments/churn-model/runs/{RUN}/details").json()
    assert details["runId"] == RUN and details["status"] == "Completed"
    assert set(details["logFiles"]) == {"logs/train.log"}
    log = emu.follow(details["logFiles"]["logs/train.log"])
    assert log.status_code == 200 and RUN.encode() in log.content
    wrong = emu.get(HISTORY, HIST + f"/experiments/fraud-detect/runs/{RUN}/details")
    assert wrong.status_code == 404


def test_artifact_content_by_prefix(emu: Emu) -> None:
    base = ("/artifact/v2.0" + WS_PATH + "/artifacts/prefix/contentinfo/ExperimentRun/"
            f"dcid.{RUN}")
    outputs = emu.get(HISTORY, base + "/outputs").json()["value"]
    assert sorted(info["path"] for info in outputs) == ["outputs/metrics.json",
                                                         "outputs/model.pkl"]
    assert emu.get(HISTORY, base + "/user_logs").json()["value"] == []
    assert emu.get(HISTORY, base.replace(RUN, "nope") + "/logs").status_code == 404


def test_model_management_answers_under_modelmanagement_v1(emu: Emu) -> None:
    legacy = emu.get(MMS, "/api" + WS_PATH + "/models", MMS_V).json()
    current = emu.get(MMS, "/modelmanagement/v1.0" + WS_PATH + "/models")  # no api-version
    assert current.status_code == 200 and current.json() == legacy
    assert [m["id"] for m in legacy["value"]] == sorted(DEMO_MODEL_IDS)
    one = emu.get(MMS, "/modelmanagement/v1.0" + WS_PATH + f"/models/{DEMO_MODEL_IDS[0]}")
    assert one.status_code == 200


def test_an_adls_gen2_datastore_is_shaped_as_datastore_json(emu: Emu) -> None:
    lake = emu.get(HISTORY, "/datastore/v1.0" + WS_PATH + "/datastores/datalake").json()
    assert lake["dataStoreType"] == "AzureDataLakeGen2" and lake["azureDataLakeSection"] is None
    storage = lake["azureStorageSection"]
    assert storage["credentialType"] == "ClientCredentials" and storage["accountKey"] is None
    assert set(storage["clientCredentials"]) >= {"clientId", "tenantId", "clientSecret",
                                                 "resourceUri", "authorityUrl", "isCertAuth"}


def test_filters_read_dates_words_and_precedence() -> None:
    assert odata.tokens("(CreatedUtc ge 2024-03-01 09:00:00) and Tags/a eq 'x y'") == [
        "(", "CreatedUtc", "ge", "2024-03-01 09:00:00", ")", "and", "Tags/a", "eq", "'x y'"]
    keep = odata.parse_filter("Status eq Failed or Status eq Completed and Target eq local")
    assert keep({"status": "Failed", "target": "gpu"})  # and binds tighter than or
    assert not keep({"status": "Completed", "target": "gpu"})
    assert odata.parse_filter("Properties/azureml.runsource eq experiment")(
        {"properties": {"azureml.runsource": "experiment"}})
    assert odata.parse_filter(None)({}) and odata.parse_filter("  ")({})


def test_models_can_list_the_latest_versions_only(emu: Emu) -> None:
    path = "/modelmanagement/v1.0" + WS_PATH + "/models"
    latest = emu.get(MMS, path, {"latestVersionOnly": "true", "count": "2"}).json()
    ids = [m["id"] for m in latest["value"]]
    while latest.get("nextLink"):
        latest = emu.follow(latest["nextLink"]).json()
        ids += [m["id"] for m in latest["value"]]
    assert ids == ["churn-model:2", "fraud-detect:2", "sandbox-model:1"]
    every = emu.get(MMS, path, {"latestVersionOnly": "false"}).json()["value"]
    assert len(every) == len(DEMO_MODEL_IDS)
    assert emu.get(MMS, path, {"latestVersionOnly": "maybe"}).status_code == 400
