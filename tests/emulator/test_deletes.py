"""Every delete answer: 200, 204 for a missing item, 202 for a service, 412 DeletionRequired,
412 on an If-Match mismatch, and the workspace delete as a long-running operation."""

from __future__ import annotations

import pytest

from amlctl.emulator import EmulatorConfig
from amlctl.emulator.seed import (
    DEMO_EU_WS_KEY,
    DEMO_WS_KEY,
    IMAGE_USING_SUBJECT_MODEL,
    RESOURCE_GROUP,
    SUBSCRIPTION,
    WORKSPACE,
)

from .conftest import ARM, ARM_V, HISTORY, MMS, MMS_V, WS_PATH, Emu, Factory

API = "/api" + WS_PATH


def test_model_delete_answers_200_then_204(emu: Emu) -> None:
    first = emu.delete(MMS, API + "/models/fraud-detect%3A2", MMS_V)
    assert first.status_code == 200
    assert emu.store.get(DEMO_WS_KEY, "model", "fraud-detect:2") is None
    again = emu.delete(MMS, API + "/models/fraud-detect%3A2", MMS_V)
    assert again.status_code == 204 and again.content == b""
    assert emu.get(MMS, API + "/models/fraud-detect%3A2", MMS_V).status_code == 404


@pytest.mark.parametrize("kind,item", [("assets", None), ("images", "fraud-img%3A1")])
def test_asset_and_image_deletes(emu: Emu, kind: str, item: str | None) -> None:
    item = item or emu.store.page(DEMO_WS_KEY, "asset", limit=1)[0].id
    assert emu.delete(MMS, f"{API}/{kind}/{item}", MMS_V).status_code == 200
    assert emu.delete(MMS, f"{API}/{kind}/{item}", MMS_V).status_code == 204


def test_model_used_by_an_image_answers_412_until_the_image_is_gone(emu: Emu) -> None:
    refused = emu.delete(MMS, API + "/models/churn-model%3A1", MMS_V)
    assert refused.status_code == 412
    body = refused.json()
    assert body["code"] == "DeletionRequired" and body["statusCode"] == 412
    assert "DeletionRequired" in refused.text and IMAGE_USING_SUBJECT_MODEL in refused.text
    assert emu.store.get(DEMO_WS_KEY, "model", "churn-model:1") is not None
    image = IMAGE_USING_SUBJECT_MODEL.replace(":", "%3A")
    assert emu.delete(MMS, f"{API}/images/{image}", MMS_V).status_code == 200
    assert emu.delete(MMS, API + "/models/churn-model%3A1", MMS_V).status_code == 200


def test_service_delete_answers_200_or_202(emu: Emu) -> None:
    aci = emu.delete(MMS, API + "/services/churn-svc", MMS_V)
    assert aci.status_code == 200
    aks = emu.delete(MMS, API + "/services/fraud-svc", MMS_V)
    assert aks.status_code == 202
    assert emu.store.get(DEMO_WS_KEY, "service", "fraud-svc") is None
    status = emu.follow(aks.headers["Operation-Location"])
    assert status.status_code == 200 and status.json()["state"] == "Succeeded"
    assert emu.delete(MMS, API + "/services/fraud-svc", MMS_V).status_code == 204


def test_service_delete_202_rule_is_configurable(make_emu: Factory) -> None:
    emu = make_emu(EmulatorConfig(service_delete_202="always"))
    assert emu.delete(MMS, API + "/services/churn-svc", MMS_V).status_code == 202
    emu = make_emu(EmulatorConfig(service_delete_202="never"))
    assert emu.delete(MMS, API + "/services/fraud-svc", MMS_V).status_code == 200


def test_workspace_if_match_mismatch_answers_412(emu: Emu) -> None:
    refused = emu.delete(ARM, WS_PATH, ARM_V, headers={"If-Match": '"0xNOTTHEETAG"'})
    assert refused.status_code == 412
    assert refused.json()["error"]["code"] == "PreconditionFailed"
    assert emu.store.count(DEMO_WS_KEY) > 0
    etag = emu.get(ARM, WS_PATH, ARM_V).json()["etag"]
    accepted = emu.delete(ARM, WS_PATH, ARM_V, headers={"If-Match": etag})
    assert accepted.status_code == 202


def test_workspace_delete_is_a_long_running_operation(make_emu: Factory) -> None:
    emu = make_emu(EmulatorConfig(lro_polls=2))
    accepted = emu.delete(ARM, WS_PATH, ARM_V)
    assert accepted.status_code == 202 and accepted.content == b""
    assert "Retry-After" not in accepted.headers
    assert "x-ms-ratelimit-remaining-subscription-deletes" in accepted.headers
    status_url = accepted.headers["Azure-AsyncOperation"]
    assert status_url.startswith(f"{emu.origin}/{ARM}/subscriptions/{SUBSCRIPTION}/providers/")
    assert "workspaceOperationsStatus" in status_url and "type=async" in status_url
    assert "type=location" in accepted.headers["Location"]
    states = [emu.follow(status_url).json()["status"] for _ in range(3)]
    assert states == ["InProgress", "InProgress", "Succeeded"]
    assert emu.follow(accepted.headers["Location"]).status_code == 200
    assert emu.store.count(DEMO_WS_KEY) == 0
    assert emu.store.get_workspace(SUBSCRIPTION, RESOURCE_GROUP, WORKSPACE) is None
    assert emu.store.count(DEMO_EU_WS_KEY) > 0  # its neighbour is untouched
    assert emu.get(ARM, WS_PATH, ARM_V).json()["error"]["code"] == "ResourceNotFound"
    assert emu.get(HISTORY, "/history/v1.0" + WS_PATH + "/experiments").status_code == 404
    assert emu.delete(ARM, WS_PATH, ARM_V).status_code == 204


def test_location_url_answers_202_while_running(make_emu: Factory) -> None:
    emu = make_emu(EmulatorConfig(lro_polls=1, lro_retry_after=7))
    accepted = emu.delete(ARM, WS_PATH, ARM_V)
    assert accepted.headers["Retry-After"] == "7"
    running = emu.follow(accepted.headers["Location"])
    assert running.status_code == 202 and running.headers["Retry-After"] == "7"
    done = emu.follow(accepted.headers["Location"])
    assert done.status_code == 200 and done.content == b""


def test_workspace_delete_in_sync_mode_answers_200(make_emu: Factory) -> None:
    emu = make_emu(EmulatorConfig(workspace_delete="sync"))
    response = emu.delete(ARM, WS_PATH, ARM_V)
    assert response.status_code == 200 and "Azure-AsyncOperation" not in response.headers
    assert emu.store.count(DEMO_WS_KEY) == 0


def test_unknown_operation_is_404(emu: Emu) -> None:
    path = (f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.MachineLearningServices/"
            "locations/eastus/workspaceOperationsStatus/nope")
    assert emu.get(ARM, path, ARM_V).status_code == 404
