"""Every endpoint answers 200 for an existing demo item, and the in-process adapter answers
exactly as the loopback server does."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest

from amlctl.emulator.seed import (
    DEMO_EU_PIPELINE_IDS,
    DEMO_PIPELINE_IDS,
    DEMO_WS_KEY,
    SUBJECT_OBJECT_ID,
    SUBJECT_RUN_IDS,
)

from .conftest import (
    AETHER,
    ARM,
    ARM_V,
    COMPUTE_LIVE,
    HISTORY,
    MMS,
    MMS_V,
    RG_PATH,
    WS_PATH,
    Emu,
    Factory,
)

RUN = SUBJECT_RUN_IDS[0]
EU = "westeurope"
EU_WS = WS_PATH.replace("/demo-ws", "/demo-ws-eu")
NO_QUERY: dict[str, str] = {}


def endpoints(emu: Emu) -> list[tuple[str, str, dict[str, str]]]:
    """(host, path, query) for every endpoint, with ids of existing demo items."""
    metric = emu.store.page(DEMO_WS_KEY, "metric", parent="churn-model", limit=1)[0].id
    asset = emu.store.page(DEMO_WS_KEY, "asset", limit=1)[0].id
    hist, art = "/history/v1.0" + WS_PATH, "/artifact/v1.0" + WS_PATH
    calls = [
        (ARM, RG_PATH + "/providers/Microsoft.MachineLearningServices/workspaces", ARM_V),
        (ARM, WS_PATH, ARM_V), (ARM, WS_PATH + "/computes", ARM_V),
        (ARM, WS_PATH + "/computes/cpu-cluster", ARM_V),
        (HISTORY, hist + "/experiments", NO_QUERY),
        (HISTORY, hist + "/experiments/churn-model/runs", NO_QUERY),
        (HISTORY, hist + f"/experiments/churn-model/runs/{RUN}", NO_QUERY),
        (HISTORY, hist + "/experiments/churn-model/metrics", NO_QUERY),
        (HISTORY, hist + f"/experiments/churn-model/metrics/{metric}", NO_QUERY),
        (HISTORY, art + f"/artifacts/origins/ExperimentRun/containers/dcid.{RUN}", NO_QUERY),
        (HISTORY, "/notification/v1.0" + WS_PATH + "/tasks", NO_QUERY),
        (HISTORY, "/notification/v1.0" + WS_PATH + "/tasks/5f0e8c3a-0000-4000-8000-00000000a001",
         NO_QUERY),
        (HISTORY, "/datastore/v1.0" + WS_PATH + "/datastores", NO_QUERY),
        (HISTORY, "/datastore/v1.0" + WS_PATH + "/datastores/workspaceblobstore", NO_QUERY),
        (f"{EU}.experiments.azureml.net", "/history/v1.0" + EU_WS + "/experiments", NO_QUERY),
        (f"{EU}.modelmanagement.azureml.net", "/api" + EU_WS + "/services/churn-svc-eu", MMS_V),
        # what the SDKs call besides (test_sdk_routes.py)
        (HISTORY, "/discovery", NO_QUERY),
        (HISTORY, hist + "/experiments/churn-model", NO_QUERY),
        (HISTORY, hist + f"/experiments/churn-model/runs/{RUN}/details", NO_QUERY),
        (HISTORY, "/artifact/v2.0" + WS_PATH
         + f"/artifacts/prefix/contentinfo/ExperimentRun/dcid.{RUN}/outputs", NO_QUERY),
        (MMS, "/modelmanagement/v1.0" + WS_PATH + "/models", NO_QUERY),
    ]
    for kind, item in (("models", "churn-model%3A1"), ("assets", asset),
                       ("images", "churn-img%3A1"), ("services", "churn-svc")):
        calls += [(MMS, f"/api{WS_PATH}/{kind}", MMS_V), (MMS, f"/api{WS_PATH}/{kind}/{item}",
                                                         MMS_V)]
    for segment, entity in DEMO_PIPELINE_IDS.items():
        calls.append((AETHER, f"/api/v1.0{WS_PATH}/{segment}/{entity}", NO_QUERY))
        calls.append((f"{EU}.aether.ms", f"/api/v1.0{EU_WS}/{segment}/"
                      f"{DEMO_EU_PIPELINE_IDS[segment]}", NO_QUERY))
    return calls


def test_every_endpoint_answers_200_for_a_demo_item(emu: Emu) -> None:
    for host, path, query in endpoints(emu):
        response = emu.get(host, path, query)
        assert response.status_code == 200, (host, path, response.text)
        assert response.headers["Content-Type"].startswith("application/json")
        body = response.json()
        if "value" in body:
            assert body["value"], (host, path)


def _normalized(emu: Emu, response: Any) -> tuple[int, str]:
    text = response.text.replace(emu.origin, "ORIGIN")
    if '"allocationState"' in text:
        # a compute get: both apps share the store, whose read count moves the node state on
        body = json.loads(text)
        for name in COMPUTE_LIVE:
            del body["properties"]["properties"][name]
        text = json.dumps(body)
    return response.status_code, text


def test_adapter_and_loopback_answer_alike(make_emu: Factory) -> None:
    server, local = make_emu(), make_emu(inprocess=True)
    assert local.origin != server.origin
    calls = endpoints(server)
    calls.append((MMS, f"/api{WS_PATH}/models", {**MMS_V, "count": "2"}))
    for host, path, query in calls:
        over_http, in_process = server.get(host, path, query), local.get(host, path, query)
        assert _normalized(server, over_http) == _normalized(local, in_process), path
        assert set(over_http.headers) - {"Server", "Date", "Connection"} <= set(
            in_process.headers)
    for emu in (server, local):  # errors alike too (their ids and times differ)
        missing = emu.get(MMS, f"/api{WS_PATH}/models/nope%3A9", MMS_V)
        assert missing.status_code == 404 and missing.json()["code"] == "NotFound"


def test_adapter_deletes_share_the_store(make_emu: Factory) -> None:
    local = make_emu(inprocess=True)
    assert local.delete(MMS, f"/api{WS_PATH}/models/fraud-detect%3A2", MMS_V).status_code == 200
    server = make_emu()
    assert server.get(MMS, f"/api{WS_PATH}/models/fraud-detect%3A2", MMS_V).status_code == 404


def test_runs_carry_created_by_and_data_container(emu: Emu) -> None:
    run = emu.get(HISTORY, f"/history/v1.0{WS_PATH}/experiments/churn-model/runs/{RUN}").json()
    assert run["createdBy"]["userObjectId"] == SUBJECT_OBJECT_ID
    assert set(run["createdBy"]) == {"userObjectId", "userTenantId", "userName"}
    assert run["dataContainerId"] == f"dcid.{RUN}"


@pytest.mark.parametrize("inprocess", [False, True])
def test_artifact_content_downloads_from_its_content_uri(make_emu: Factory,
                                                         inprocess: bool) -> None:
    emu = make_emu(inprocess=inprocess)
    listing = emu.get(HISTORY, f"/artifact/v1.0{WS_PATH}/artifacts/origins/ExperimentRun/"
                      f"containers/dcid.{RUN}").json()
    item = next(a for a in listing["value"] if a["path"] == "outputs/model.pkl")
    assert item["artifactId"] == f"ExperimentRun/dcid.{RUN}/outputs/model.pkl"
    assert item["contentUri"].startswith(f"{emu.origin}/demowsstore.blob.core.windows.net/")
    blob = emu.session.get(item["contentUri"], headers={"Authorization": ""}, timeout=5)
    stored = emu.store.content(DEMO_WS_KEY, "artifact", f"dcid.{RUN}/outputs/model.pkl")
    assert blob.status_code == 200 and blob.content == stored
    assert blob.headers["Content-MD5"] == base64.b64encode(hashlib.md5(blob.content).digest(
    )).decode()
    assert blob.headers["Content-Length"] == str(len(blob.content)) and blob.headers["ETag"]
    unsigned = emu.session.get(item["contentUri"].split("?")[0], timeout=5)
    assert unsigned.status_code == 403 and b"AuthenticationFailed" in unsigned.content


def test_datastore_secrets_follow_include_secret(emu: Emu) -> None:
    path = "/datastore/v1.0" + WS_PATH + "/datastores"
    default = emu.get(HISTORY, path + "/workspaceblobstore").json()
    assert default["azureStorageSection"]["accountKey"].startswith("FAKE-")
    hidden = emu.get(HISTORY, path, {"includeSecret": "false"}).json()["value"]
    text = str(hidden)
    assert "FAKE-" not in text and len(hidden) == 4
    lake = next(d for d in hidden if d["name"] == "datalake")
    assert lake["azureStorageSection"]["clientCredentials"]["clientSecret"] is None
    assert lake["dataStoreType"] == "AzureDataLakeGen2" and lake["azureDataLakeSection"] is None
    named = emu.get(HISTORY, path, {"dataStoreNames": "trainingdata"}).json()["value"]
    assert [d["name"] for d in named] == ["trainingdata"]


def test_unknown_pipeline_ids_are_404(emu: Emu) -> None:
    response = emu.get(AETHER, f"/api/v1.0{WS_PATH}/Graphs/00000000-dead-beef-0000-000000000000")
    assert response.status_code == 404
    assert response.json()["error"]["innerError"]["code"] == "EntityNotFound"
