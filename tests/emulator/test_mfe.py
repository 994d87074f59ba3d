"""The current ARM API (api-version 2026-05-01) under a workspace: envelopes, `$skip` paging,
listViewType, the delete dialects (sync, Location-only and Azure-AsyncOperation long-running
operations, the compute's), the refusals of what is in use, endpoints taking their deployments
along, the workspace's soft delete and purge, and the article-era versions' view of the same
workspace. Real HTTP over loopback, unless a test says in-process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from amlctl.emulator import Bucket, EmulatorConfig, arm
from amlctl.emulator.mfe import COLLECTIONS
from amlctl.emulator.mfe_documents import code_name
from amlctl.emulator.seed import (
    DEMO_EU_WS_KEY,
    DEMO_WS_KEY,
    NAMESAKE_OBJECT_ID,
    RESOURCE_GROUP,
    SUBSCRIPTION,
    WORKSPACE,
    WORKSPACE_EU,
)

from .conftest import ARM, ARM_V, RG_PATH, WS_PATH, Emu, Factory

V = {"api-version": "2026-05-01"}
EU_PATH = WS_PATH.replace(f"/workspaces/{WORKSPACE}", f"/workspaces/{WORKSPACE_EU}")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def every_page(emu: Emu, path: str, params: dict[str, str] | None = None) -> list[list[str]]:
    """The names on each page of a list, following nextLink to its end."""
    reply = emu.get(ARM, WS_PATH + path, {**V, **(params or {})})
    pages = []
    while True:
        assert reply.status_code == 200, reply.text
        body = reply.json()
        pages.append([item["name"] for item in body["value"]])
        if "nextLink" not in body:
            return pages
        assert "$skip=" in body["nextLink"]
        reply = emu.follow(body["nextLink"])


def names(emu: Emu, path: str, **params: str) -> list[str]:
    return [name for page in every_page(emu, path, params) for name in page]


# -- api-versions and envelopes ---------------------------------------------------------------


def test_current_routes_answer_only_the_current_and_the_sdk_api_versions(emu: Emu) -> None:
    refused = emu.get(ARM, WS_PATH + "/jobs", ARM_V)
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "NoRegisteredProviderFound"
    supported = ", ".join(arm.CURRENT_ROUTE_VERSIONS)  # 2026-05-01 and azure-ai-ml's
    assert "'workspaces/jobs'" in error["message"] and f"'{supported}'" in error["message"]
    assert arm.CURRENT_ROUTE_VERSIONS[-1] == "2026-05-01"
    assert emu.get(ARM, WS_PATH + "/jobs", {"api-version": "2024-01-01-preview"}).status_code == 200
    versions = emu.get(ARM, WS_PATH + "/models/churn-classifier/versions",
                       {"api-version": "2026-07-01"})
    assert "'workspaces/models/versions'" in versions.json()["error"]["message"]
    missing = emu.get(ARM, WS_PATH + "/jobs")
    assert missing.json()["error"]["code"] == "MissingApiVersionParameter"
    # the routes both generations share take either
    for params in (ARM_V, V, {"api-version": "2018-03-01-preview"}):
        assert emu.get(ARM, WS_PATH, params).status_code == 200
        assert emu.get(ARM, WS_PATH + "/computes", params).status_code == 200


def test_every_collection_answers_arm_envelopes(emu: Emu) -> None:
    seen = 0
    for collection in COLLECTIONS:
        if collection.parent is not None:
            continue
        reply = emu.get(ARM, f"{WS_PATH}/{collection.segment}", {**V, "listViewType": "All"}
                        if collection.views else V)
        assert reply.status_code == 200, collection.segment
        for item in reply.json()["value"]:
            seen += 1
            assert item["id"].startswith(f"/subscriptions/{SUBSCRIPTION}/resourceGroups/"
                                         f"{RESOURCE_GROUP}/providers/")
            assert item["id"].endswith(f"/{collection.segment}/{item['name']}")
            assert item["type"] == f"Microsoft.MachineLearningServices/{collection.type}"
            system = item["systemData"]
            assert system["createdByType"] in ("User", "Application", "ManagedIdentity")
            assert {"createdAt", "createdBy"} <= set(system)
            assert isinstance(item["properties"], dict)
            got = emu.get(ARM, f"{WS_PATH}/{collection.segment}/{item['name']}", V)
            assert got.json() == item  # lists and gets answer alike
    assert seen >= 25


def test_the_article_versions_see_the_workspace_as_they_did(emu: Emu) -> None:
    old, new = emu.get(ARM, WS_PATH, ARM_V).json(), emu.get(ARM, WS_PATH, V).json()
    assert "systemData" not in old and new["systemData"]["createdBy"] == "Alex Kim"
    assert {k: v for k, v in new.items() if k != "systemData"} == old
    listed_old = [c["name"] for c in emu.get(ARM, WS_PATH + "/computes", ARM_V).json()["value"]]
    assert listed_old == ["cpu-cluster", "gpu-cluster"]  # no compute instance in 2019-11-01
    assert emu.get(ARM, WS_PATH + "/computes/ci-jane-doe", ARM_V).status_code == 404
    assert "systemData" not in emu.get(ARM, WS_PATH + "/computes/cpu-cluster", ARM_V).json()
    assert names(emu, "/computes") == ["ci-jane-doe", "ci-jdoe", "cpu-cluster", "gpu-cluster"]


def test_compute_instances_name_their_owner_by_object_id(emu: Emu) -> None:
    listed = emu.get(ARM, WS_PATH + "/computes", {**V, "count": "10"}).json()["value"]
    owners = {c["name"]: c["properties"]["properties"].get("createdBy") for c in listed}
    assert owners["ci-jdoe"]["userName"] == "Jane Doe"  # the namesake: same display name,
    assert owners["ci-jdoe"]["userId"] == NAMESAKE_OBJECT_ID  # another person
    assert owners["ci-jane-doe"]["userId"] != NAMESAKE_OBJECT_ID
    cluster = emu.get(ARM, WS_PATH + "/computes/cpu-cluster", V).json()
    assert "currentNodeCount" in cluster["properties"]["properties"]  # a get adds live state
    assert next(c for c in listed if c["name"] == "cpu-cluster")["properties"][
        "modifiedOn"] == cluster["properties"]["modifiedOn"]


def test_datastores_through_arm_carry_no_secret_and_are_the_data_planes(emu: Emu) -> None:
    listed = emu.get(ARM, WS_PATH + "/datastores", V)
    assert "FAKE-" not in listed.text and "secret" not in listed.text.lower()
    lake = emu.get(ARM, WS_PATH + "/datastores/datalake", V).json()
    assert lake["properties"]["credentials"]["credentialsType"] == "ServicePrincipal"
    assert lake["systemData"]["createdByType"] == "Application"
    blob = emu.get(ARM, WS_PATH + "/datastores/workspaceblobstore", V).json()
    assert blob["properties"]["isDefault"] is True
    assert emu.delete(ARM, WS_PATH + "/datastores/trainingdata", V).status_code == 200
    v1 = f"/datastore/v1.0{WS_PATH}/datastores/trainingdata"
    assert emu.get("eastus.experiments.azureml.net", v1).status_code == 404  # one registration


# -- paging and listViewType ------------------------------------------------------------------


def test_lists_page_by_next_link_with_skip(emu: Emu) -> None:
    pages = every_page(emu, "/jobs", {"listViewType": "All"})
    assert len(pages) == 3 and all(len(page) <= 3 for page in pages)  # 7 jobs, 3 a page
    assert [n for page in pages for n in page] == sorted(n for page in pages for n in page)
    assert every_page(emu, "/models", {"count": "10"}) == [
        ["churn-classifier", "fraud-scorer", "sandbox-model"]]
    assert every_page(emu, "/models/churn-classifier/versions",
                      {"listViewType": "All", "$top": "2"}) == [["1", "2"], ["3"]]
    bad = emu.get(ARM, WS_PATH + "/jobs", {**V, "$skip": "not-a-token"})
    assert bad.status_code == 400


def test_next_links_keep_the_list_view(emu: Emu) -> None:
    first = emu.get(ARM, WS_PATH + "/jobs", {**V, "listViewType": "All"}).json()
    assert "listViewType=All" in first["nextLink"]


def test_list_view_type_hides_archived_items_unless_asked(emu: Emu) -> None:
    active = names(emu, "/jobs")
    everything = names(emu, "/jobs", listViewType="All")
    archived = names(emu, "/jobs", listViewType="ArchivedOnly")
    assert archived == ["churn-train-02"]
    assert sorted(active + archived) == everything
    assert names(emu, "/models/churn-classifier/versions") == ["2", "3"]
    assert names(emu, "/models/churn-classifier/versions", listViewType="all") == ["1", "2", "3"]
    assert names(emu, "/schedules") == ["nightly-retrain"]  # EnabledOnly by default
    assert names(emu, "/schedules", listViewType="DisabledOnly") == ["weekly-report"]
    codes = names(emu, "/codes", listViewType="ArchivedOnly")  # codes have no such view
    assert codes == names(emu, "/codes") and len(codes) == 3
    refused = emu.get(ARM, WS_PATH + "/jobs", {**V, "listViewType": "EnabledOnly"})
    assert refused.status_code == 400 and "ActiveOnly" in refused.json()["error"]["message"]


def test_a_list_under_a_missing_container_is_404(emu: Emu) -> None:
    reply = emu.get(ARM, WS_PATH + "/models/no-such-model/versions", V)
    assert reply.status_code == 404 and reply.json()["error"]["code"] == "ResourceNotFound"


# -- deletes ------------------------------------------------------------------------------------


def test_asset_deletes_are_synchronous(emu: Emu) -> None:
    path = WS_PATH + "/models/churn-classifier/versions/1"
    first = emu.delete(ARM, path, V)
    assert (first.status_code, first.content) == (200, b"")
    assert "Location" not in first.headers and "Azure-AsyncOperation" not in first.headers
    assert emu.get(ARM, path, V).status_code == 404
    assert emu.delete(ARM, path, V).status_code == 204
    assert emu.delete(ARM, WS_PATH + "/models/gone/versions/1", V).status_code == 204


def test_a_container_with_versions_is_refused(emu: Emu) -> None:
    refused = emu.delete(ARM, WS_PATH + "/data/fraud-transactions", V)
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "UserError" and error["details"][0]["code"] == "ContainerHasVersions"
    assert emu.delete(ARM, WS_PATH + "/data/fraud-transactions/versions/1", V).status_code == 200
    assert emu.delete(ARM, WS_PATH + "/data/fraud-transactions", V).status_code == 200
    feature = WS_PATH + "/featuresets/customer-features"
    assert emu.delete(ARM, feature, V).status_code == 409  # long-running, but the same rule
    assert emu.delete(ARM, feature + "/versions/1", V).status_code == 202
    assert emu.delete(ARM, feature, V).status_code == 202


@pytest.mark.parametrize(("version", "deployment"), [
    ("/models/churn-classifier/versions/2", "/onlineEndpoints/churn-endpoint/deployments/blue"),
    ("/environments/churn-env/versions/1", "/onlineEndpoints/churn-endpoint/deployments/blue"),
    (f"/codes/{code_name(WORKSPACE, 'churn-score')}/versions/1",
     "/onlineEndpoints/churn-endpoint/deployments/blue"),
    ("/models/fraud-scorer/versions/2", "/onlineEndpoints/fraud-endpoint/deployments/green"),
])
def test_a_version_a_deployment_serves_is_refused(emu: Emu, version: str,
                                                  deployment: str) -> None:
    refused = emu.delete(ARM, WS_PATH + version, V)
    assert refused.status_code == 409
    detail = refused.json()["error"]["details"][0]
    assert detail["code"] == "AssetInUse" and detail["target"].endswith(deployment)
    gone = emu.delete(ARM, WS_PATH + deployment, V)
    assert gone.status_code == 202
    assert emu.delete(ARM, WS_PATH + version, V).status_code == 200


def test_a_batch_deployment_names_its_model_by_asset_reference(emu: Emu) -> None:
    refused = emu.delete(ARM, WS_PATH + "/models/fraud-scorer/versions/1", V)
    targets = [d["target"] for d in refused.json()["error"]["details"]]
    assert any(t.endswith("/batchEndpoints/fraud-batch/deployments/default") for t in targets)
    assert any(t.endswith("/onlineEndpoints/fraud-endpoint/deployments/blue") for t in targets)


def test_location_only_operations(make_emu: Factory) -> None:
    emu = make_emu(EmulatorConfig(lro_polls=2, lro_retry_after=3))
    accepted = emu.delete(ARM, WS_PATH + "/jobs/churn-train-01", V)
    assert (accepted.status_code, accepted.content) == (202, b"")
    assert "Azure-AsyncOperation" not in accepted.headers  # the spec names Location only
    location = accepted.headers["Location"]
    assert f"/management.azure.com/subscriptions/{SUBSCRIPTION}/providers/Microsoft." \
           "MachineLearningServices/locations/eastus/mfeOperationResults/" in location
    assert "api-version=2026-05-01" in location
    assert accepted.headers["x-ms-async-operation-timeout"] == "PT30M"
    assert accepted.headers["Retry-After"] == "3"
    assert emu.get(ARM, WS_PATH + "/jobs/churn-train-01", V).status_code == 404  # gone at once
    polls = [emu.follow(location) for _ in range(3)]
    assert [p.status_code for p in polls] == [202, 202, 200]
    assert polls[0].headers["Location"] == location and polls[-1].content == b""
    assert emu.delete(ARM, WS_PATH + "/jobs/churn-train-01", V).status_code == 204


def test_azure_async_operations_and_operation_ids(emu: Emu) -> None:
    accepted = emu.delete(ARM, WS_PATH + "/batchEndpoints/fraud-batch", V)
    assert accepted.status_code == 202
    status_url = accepted.headers["Azure-AsyncOperation"]
    assert "/mfeOperationsStatus/bebes:" in status_url
    assert "/mfeOperationResults/bebes:" in accepted.headers["Location"]
    first, second = emu.follow(status_url).json(), emu.follow(status_url).json()
    assert (first["status"], second["status"]) == ("InProgress", "Succeeded")
    assert second["name"].startswith("bebes:") and second["percentComplete"] == 100.0
    online = emu.delete(ARM, WS_PATH + "/onlineEndpoints/fraud-endpoint/deployments/green", V)
    assert "/mfeOperationsStatus/odidp:" in online.headers["Azure-AsyncOperation"]
    unknown = emu.get(ARM, status_url.split("/management.azure.com")[1].replace(
        "bebes:", "nope:"), V)
    assert unknown.status_code == 404


def test_an_endpoint_delete_takes_its_deployments_along(emu: Emu) -> None:
    assert emu.store.count(DEMO_WS_KEY, "online_deployment") == 3
    accepted = emu.delete(ARM, WS_PATH + "/onlineEndpoints/fraud-endpoint", V)
    assert accepted.status_code == 202
    assert emu.store.count(DEMO_WS_KEY, "online_deployment") == 1  # churn-endpoint's stays
    gone = emu.get(ARM, WS_PATH + "/onlineEndpoints/fraud-endpoint/deployments/blue", V)
    assert gone.status_code == 404
    # a deployment of a deleted endpoint deletes as absent, so a resumed erasure goes on
    assert emu.delete(ARM, WS_PATH + "/onlineEndpoints/fraud-endpoint/deployments/blue",
                      V).status_code == 204


def test_serverless_and_marketplace_deletes_answer_202_or_204(emu: Emu) -> None:
    for path in ("/serverlessEndpoints/llama-chat", "/marketplaceSubscriptions/llama-3-8b"):
        assert emu.delete(ARM, WS_PATH + path, V).status_code == 202
        assert emu.delete(ARM, WS_PATH + path, V).status_code == 204


def test_compute_delete_needs_an_underlying_resource_action(emu: Emu) -> None:
    path = WS_PATH + "/computes/ci-jane-doe"
    refused = emu.delete(ARM, path, V)
    assert refused.status_code == 400 and "underlyingResourceAction" in refused.text
    assert emu.delete(ARM, path, {**V, "underlyingResourceAction": "Sideways"}).status_code == 400
    assert emu.delete(ARM, path, {**ARM_V, "underlyingResourceAction": "Delete"}
                      ).status_code == 400  # the article's versions had no compute instances
    accepted = emu.delete(ARM, path, {**V, "underlyingResourceAction": "Delete"})
    assert accepted.status_code == 202
    status = accepted.headers["Azure-AsyncOperation"]
    assert "/locations/eastus/computeOperationsStatus/" in status and "type=async" in status
    assert "type=location" in accepted.headers["Location"]
    assert emu.follow(status).json()["status"] == "InProgress"
    assert emu.follow(accepted.headers["Location"]).status_code == 200
    assert emu.get(ARM, path, V).status_code == 404
    again = emu.delete(ARM, path, {**V, "underlyingResourceAction": "Delete"})
    assert again.status_code == 204


# -- the workspace: soft delete, purge ----------------------------------------------------------


def test_the_current_workspace_delete_is_soft(emu: Emu) -> None:
    accepted = emu.delete(ARM, EU_PATH, V)
    assert accepted.status_code == 202
    assert "/workspaceOperationsStatus/" in accepted.headers["Azure-AsyncOperation"]
    assert emu.get(ARM, EU_PATH, V).status_code == 404
    assert emu.get(ARM, EU_PATH + "/jobs", V).status_code == 404
    listed = emu.get(ARM, RG_PATH + "/providers/Microsoft.MachineLearningServices/workspaces", V)
    assert [w["name"] for w in listed.json()["value"]] == [WORKSPACE]
    deleted = emu.store.deleted_workspace(SUBSCRIPTION, RESOURCE_GROUP, WORKSPACE_EU)
    assert deleted is not None
    assert (deleted.purge_after[:10] > deleted.deleted_at[:10])  # 14 days on
    counts = emu.store.counts(DEMO_EU_WS_KEY)
    # kept for recovery: assets, datastores, run history, finished jobs; gone at once:
    # computes, endpoints and deployments, running jobs
    assert counts["model_version"] == 2 and counts["datastore"] == 2 and counts["run"] == 3
    assert "compute" not in counts and "online_endpoint" not in counts
    assert "online_deployment" not in counts
    assert emu.store.get(DEMO_EU_WS_KEY, "job", "forecast-01") is None  # was running
    assert emu.store.get(DEMO_EU_WS_KEY, "job", "churn-eu-train-01") is not None
    assert emu.delete(ARM, EU_PATH, V).status_code == 204  # already (softly) gone
    purged = emu.delete(ARM, EU_PATH, {**V, "forceToPurge": "true"})
    assert purged.status_code == 202
    assert emu.store.deleted_workspace(SUBSCRIPTION, RESOURCE_GROUP, WORKSPACE_EU) is None
    assert emu.store.counts(DEMO_EU_WS_KEY) == {}


def test_force_to_purge_deletes_for_good_and_old_versions_always_did(emu: Emu) -> None:
    assert emu.delete(ARM, EU_PATH, {**V, "forceToPurge": "True"}).status_code == 202
    assert emu.store.deleted_workspace(SUBSCRIPTION, RESOURCE_GROUP, WORKSPACE_EU) is None
    assert emu.store.counts(DEMO_EU_WS_KEY) == {}
    assert emu.delete(ARM, WS_PATH, ARM_V).status_code == 202  # 2019-11-01: no soft delete
    assert emu.store.deleted_workspace(SUBSCRIPTION, RESOURCE_GROUP, WORKSPACE) is None
    assert emu.store.counts(DEMO_WS_KEY) == {}
    bad = emu.delete(ARM, EU_PATH, {**V, "forceToPurge": "maybe"})
    assert bad.status_code == 400


# -- the shared machinery: throttling, faults, the access log --------------------------------


def test_current_routes_are_throttled_faulted_and_logged(make_emu: Factory,
                                                         tmp_path: Path) -> None:
    log = tmp_path / "access.jsonl"
    emu = make_emu(EmulatorConfig(arm_reads=Bucket(2, 1.0), access_log=log), clock=FakeClock())
    replies = [emu.get(ARM, WS_PATH + "/schedules", V) for _ in range(3)]
    assert [r.status_code for r in replies] == [200, 200, 429]
    assert replies[-1].json()["error"]["code"] == "TooManyRequests"
    assert int(replies[-1].headers["Retry-After"]) >= 1
    assert replies[0].headers["x-ms-ratelimit-remaining-subscription-reads"] == "1"
    lines: list[dict[str, Any]] = [json.loads(x) for x in log.read_text().splitlines()]
    assert [line["status"] for line in lines] == [200, 200, 429]
    assert all("/schedules?api-version=2026-05-01" in line["path"] for line in lines)
    faulty = make_emu(EmulatorConfig(fault_rate=1.0, fault_seed=1, fault_kinds=("503",)),
                      inprocess=True)
    failed = faulty.get(ARM, WS_PATH + "/jobs", V)
    assert failed.status_code == 503 and failed.json()["error"]["code"] == "ServiceUnavailable"


def test_the_adapter_and_the_server_answer_alike(make_emu: Factory) -> None:
    server, adapter = make_emu(), make_emu(inprocess=True)

    def body(emu: Emu, path: str, params: dict[str, str]) -> Any:
        reply = emu.get(ARM, WS_PATH + path, {**V, **params})
        assert reply.status_code == 200
        return json.loads(reply.text.replace(emu.origin, "ORIGIN"))  # next links name it

    for path, params in (("/jobs", {"listViewType": "All"}),
                         ("/models/fraud-scorer/versions", {}), ("/datastores/datalake", {})):
        assert body(server, path, params) == body(adapter, path, params)
