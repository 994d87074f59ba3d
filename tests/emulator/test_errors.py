"""api-version checks, the article's URL typos, and bad requests: each answers with its family's
envelope, never a 500 or a trace, and the server stays up."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest

from amlctl.emulator.arm import SERVED_VERSIONS
from amlctl.emulator.seed import SUBJECT_RUN_IDS, SUBSCRIPTION

from .conftest import ARM, ARM_V, HISTORY, MMS, RG_PATH, WS_PATH, Emu

PROVIDER = "/providers/Microsoft.MachineLearningServices"


@pytest.mark.parametrize("version,code", [
    (None, "MissingApiVersionParameter"),
    ("not-a-version", "InvalidApiVersionParameter"),
    ("2099-01-01", "NoRegisteredProviderFound"),
    ("2019-11-02", "NoRegisteredProviderFound"),
])
def test_arm_refuses_unsupported_api_versions(emu: Emu, version: str | None, code: str) -> None:
    response = emu.get(ARM, WS_PATH, {"api-version": version} if version else None)
    assert response.status_code == 400 and response.json()["error"]["code"] == code
    if version is not None:  # both refusals list what is served, as ARM's do
        assert ", ".join(SERVED_VERSIONS) in response.json()["error"]["message"]


def test_an_unknown_compute_version_names_the_compute_type(emu: Emu) -> None:
    response = emu.get(ARM, WS_PATH + "/computes", {"api-version": "2099-01-01"})
    assert "for type 'workspaces/computes'" in response.json()["error"]["message"]


# both editions, and what the SDKs send: azure-mgmt-machinelearningservices 1.0 (2020-08-01),
# azureml-core 1.61 (2018-03-01-preview to 2022-05-01)
@pytest.mark.parametrize("version", ["2018-03-01-preview", "2019-11-01", "2018-11-19",
                                     "2019-06-01", "2020-01-01", "2020-06-01", "2020-08-01",
                                     "2021-04-01", "2022-05-01", "2023-10-01"])
def test_arm_accepts_the_versions_that_exist(emu: Emu, version: str) -> None:
    assert emu.get(ARM, WS_PATH, {"api-version": version}).status_code == 200
    assert emu.get(ARM, WS_PATH + "/computes", {"api-version": version}).status_code == 200


def test_mms_refuses_2019_11_01_with_the_real_body(emu: Emu) -> None:
    response = emu.get(MMS, "/api" + WS_PATH + "/assets", {"api-version": "2019-11-01"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "UnsupportedApiVersion" and error["innerError"] is None
    assert error["message"] == (
        f"The HTTP resource that matches the request URI 'https://{MMS}/api{WS_PATH}/assets"
        "?api-version=2019-11-01' does not support the API version '2019-11-01'.")
    missing = emu.get(MMS, "/api" + WS_PATH + "/assets")
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "ApiVersionUnspecified"
    preview = emu.get(MMS, "/api" + WS_PATH + "/assets", {"api-version": "2018-03-01-preview"})
    assert preview.status_code == 200


def test_data_plane_ignores_api_version(emu: Emu) -> None:
    path = "/history/v1.0" + WS_PATH + "/experiments"
    assert emu.get(HISTORY, path, {"api-version": "2019-11-01"}).status_code == 200


def test_article_typo_resource_group_singular_does_not_route(emu: Emu) -> None:
    typo = WS_PATH.replace("/resourceGroups/", "/resourceGroup/") + "/computes"
    response = emu.get(ARM, typo, ARM_V)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "InvalidResourceType"


def test_article_typo_workspace_tasks_is_404(emu: Emu) -> None:
    response = emu.get(HISTORY, "/notification/v1.0" + WS_PATH
                       + "tasks/5f0e8c3a-0000-4000-8000-00000000a001")
    assert response.status_code == 404
    body = response.json()
    assert set(body) == {"error", "correlation", "environment", "location", "time"}


def test_artifacts_of_a_plain_run_id_are_404(emu: Emu) -> None:
    base = "/artifact/v1.0" + WS_PATH + "/artifacts/origins/ExperimentRun/containers/"
    assert emu.get(HISTORY, base + SUBJECT_RUN_IDS[0]).status_code == 404
    assert emu.get(HISTORY, base + "dcid." + SUBJECT_RUN_IDS[0]).status_code == 200


def test_a_workspace_is_served_only_by_its_region(emu: Emu) -> None:
    path = "/history/v1.0" + WS_PATH + "/experiments"
    response = emu.get("westeurope.experiments.azureml.net", path)
    assert response.status_code == 404
    assert response.json()["error"]["innerError"]["code"] == "WorkspaceNotFound"
    eu = path.replace("/demo-ws/", "/demo-ws-eu/")
    assert emu.get("westeurope.experiments.azureml.net", eu).status_code == 200


def test_arm_not_found_codes(emu: Emu) -> None:
    other_rg = RG_PATH.replace("demo-rg", "nope-rg") + PROVIDER + "/workspaces"
    assert emu.get(ARM, other_rg, ARM_V).json()["error"]["code"] == "ResourceGroupNotFound"
    computes = WS_PATH.replace("demo-ws", "gone-ws") + "/computes"
    assert emu.get(ARM, computes, ARM_V).json()["error"]["code"] == "ParentResourceNotFound"
    compute = emu.get(ARM, WS_PATH + "/computes/nope", ARM_V)
    assert compute.status_code == 404 and compute.json()["error"]["code"] == "ResourceNotFound"


def test_wrong_method_is_405_with_allow(emu: Emu) -> None:
    response = emu.session.patch(emu.url(ARM, WS_PATH), params=ARM_V, json={}, timeout=5)
    assert response.status_code == 405 and response.headers["Allow"] == "DELETE, GET"
    assert response.json()["error"]["code"] == "MethodNotAllowed"
    pipeline = emu.session.delete(emu.url("eastus.aether.ms", "/api/v1.0" + WS_PATH
                                          + "/Graphs/x"), timeout=5)
    assert pipeline.status_code == 405


def test_oversized_bodies_are_413(emu: Emu) -> None:
    response = emu.session.post(emu.url(ARM, WS_PATH), params=ARM_V,
                                data=b"x" * (2 * 1024 * 1024), timeout=10)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "RequestEntityTooLarge"


BAD_TARGETS = [
    "/",
    "/management.azure.com/",
    "/management.azure.com/subscriptions",
    f"/management.azure.com/subscriptions/{SUBSCRIPTION}/resourceGroups",
    "/example.com/anything",
    "/EASTUS.EXPERIMENTS.AZUREML.NET/history/v1.0/garbage",
    "/eastus.experiments.azureml.net/history/v1.0/%2E%2E/%2E%2E/etc/passwd",
    "/eastus.experiments.azureml.net/history/v1.0/a%2Fb",
    "/eastus.experiments.azureml.net/history/v1.0/%ff%fe",
    f"/eastus.experiments.azureml.net/history/v1.0{WS_PATH}/experiments?x=%ff",
    f"/eastus.modelmanagement.azureml.net/api{WS_PATH}/models/%00?api-version=2018-11-19",
    f"/eastus.modelmanagement.azureml.net/api{WS_PATH}/widgets?api-version=2018-11-19",
    f"/eastus.modelmanagement.azureml.net/api{WS_PATH}/models?api-version=2018-11-19&count=-1",
    f"/eastus.experiments.azureml.net/datastore/v1.0{WS_PATH}/datastores?includeSecret=maybe",
    f"/eastus.aether.ms/api/v1.0{WS_PATH}/Widgets/x",
    "/demowsstore.blob.core.windows.net/azureml/ExperimentRun/dcid.x/outputs/model.pkl",
    "/" + "a" * 5000,
]


@pytest.mark.parametrize("target", BAD_TARGETS)
def test_bad_requests_get_an_envelope_not_a_trace(emu: Emu, target: str) -> None:
    response = emu.session.get(emu.origin + target, timeout=5)
    assert 400 <= response.status_code < 500, response.text
    assert "Traceback" not in response.text
    if "blob.core" in target:
        assert response.text.startswith("<?xml") and "<Code>" in response.text
    else:
        body = response.json()
        assert "error" in body or {"code", "statusCode", "message"} <= set(body)
    assert response.headers["x-ms-request-id"]


RAW_REQUESTS = [
    b"GET /eastus.experiments.azureml.net/history/v1.0/../../x HTTP/1.1\r\n",
    b"GET /eastus.experiments.azureml.net/history/\xff\xfe/x HTTP/1.1\r\n",
    b"BREW /management.azure.com/subscriptions/x HTTP/1.1\r\n",
    b"DELETE /management.azure.com/x HTTP/1.1\r\nContent-Length: abc\r\n",
    b"GET /management.azure.com/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n",
]


@pytest.mark.parametrize("raw", RAW_REQUESTS)
def test_raw_garbage_never_takes_the_server_down(emu: Emu, raw: bytes) -> None:
    address = urlsplit(emu.origin)
    with socket.create_connection((address.hostname, address.port), timeout=5) as conn:
        conn.sendall(raw + b"Host: x\r\nAuthorization: Bearer t\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    assert 400 <= status < 500 and b"Traceback" not in answer
    assert emu.get(ARM, WS_PATH, ARM_V).status_code == 200  # still serving
