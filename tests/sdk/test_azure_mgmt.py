"""azure-mgmt-machinelearningservices 1.0 (api-version 2020-08-01, azure-core transport) against
the https emulator: the article's ARM calls (workspaces list/get/delete, computes list/get),
made by Microsoft's own client with a bearer token, over TLS verified against the emulator's
certificate.

The client is pointed at the emulator through its own `base_url` (the routed ARM origin) and
trusts the certificate through azure-core's `connection_verify`; its HTTP layer is not touched.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from amlctl.emulator import tokens
from amlctl.emulator.seed import DEMO_COMPUTES, RESOURCE_GROUP, SUBSCRIPTION, WORKSPACE
from amlctl.emulator.store import workspace_key

from .conftest import TlsEmulator, tls_emulator

mgmt = pytest.importorskip("azure.mgmt.machinelearningservices")
AccessToken = pytest.importorskip("azure.core.credentials").AccessToken

VERSION = "2020-08-01"  # what azure-mgmt-machinelearningservices 1.0 sends


class EmulatorCredential:
    """An azure-core TokenCredential handing out the emulator's JWT (azure-core reads its
    expiry from `expires_on`, and refuses to send it over anything but https)."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        self.scopes.append(scopes)
        now = int(time.time())
        return AccessToken(tokens.emulator_token(now=now), now + tokens.DEFAULT_LIFETIME)


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsEmulator]:
    yield from tls_emulator(tmp_path_factory)


@pytest.fixture(scope="module")
def client(emu: TlsEmulator) -> Any:
    return mgmt.MachineLearningServicesMgmtClient(
        EmulatorCredential(), SUBSCRIPTION, base_url=f"{emu.origin}/management.azure.com",
        connection_verify=str(emu.pem), polling_interval=0)


def test_workspaces_and_computes_through_the_mgmt_client(client: Any, emu: TlsEmulator) -> None:
    workspace = client.workspaces.get(RESOURCE_GROUP, WORKSPACE)
    assert workspace.name == WORKSPACE and workspace.location == "eastus"
    assert workspace.discovery_url == f"{emu.origin}/eastus.experiments.azureml.net/discovery"
    listed = [ws.name for ws in client.workspaces.list_by_resource_group(RESOURCE_GROUP)]
    assert listed == ["demo-ws", "demo-ws-eu"]
    computes = client.machine_learning_compute.list_by_workspace(RESOURCE_GROUP, WORKSPACE)
    # 2020-08-01 knows compute instances (they came after the article's two editions).
    key = workspace_key(SUBSCRIPTION, RESOURCE_GROUP, WORKSPACE)
    stored = sorted(item.id for item in emu.store.page(key, "compute"))
    assert sorted(c.name for c in computes) == stored
    assert set(DEMO_COMPUTES[WORKSPACE]) < set(stored)
    cluster = client.machine_learning_compute.get(RESOURCE_GROUP, WORKSPACE, "cpu-cluster")
    assert cluster.properties.compute_type == "AmlCompute"
    arm = [call for call in emu.calls() if call[1].startswith("/management.azure.com/")]
    assert arm and all(status == 200 for _, _, status in arm), arm
    assert f"api-version={VERSION}" in emu.log.read_text()


def test_the_workspace_delete_runs_as_a_long_running_operation(client: Any,
                                                               emu: TlsEmulator) -> None:
    client.workspaces.begin_delete(RESOURCE_GROUP, "demo-ws-eu").result()
    assert emu.store.get_workspace(SUBSCRIPTION, RESOURCE_GROUP, "demo-ws-eu") is None
    statuses = [status for method, path, status in emu.calls()
                if "workspaceOperationsStatus" in path or method == "DELETE"]
    assert statuses[0] == 202 and statuses[-1] == 200  # accepted, then polled to the end
    listed = [ws.name for ws in client.workspaces.list_by_resource_group(RESOURCE_GROUP)]
    assert listed == ["demo-ws"]


def test_a_real_azure_token_is_refused_even_through_the_sdk(emu: TlsEmulator) -> None:
    class AzureLooking(EmulatorCredential):
        def get_token(self, *scopes: str, **kwargs: Any) -> Any:
            claims = {"iss": f"https://sts.windows.net/{tokens.EMULATOR_TENANT_ID}/",
                      "aud": "https://management.azure.com/", "exp": 4102444800}
            return AccessToken(azure_looking_jwt(claims), 4102444800)

    other = mgmt.MachineLearningServicesMgmtClient(
        AzureLooking(), SUBSCRIPTION, base_url=f"{emu.origin}/management.azure.com",
        connection_verify=str(emu.pem))
    errors = pytest.importorskip("azure.core.exceptions")
    with pytest.raises(errors.ClientAuthenticationError, match="RealTokenRejected"):
        other.workspaces.get(RESOURCE_GROUP, WORKSPACE)


def azure_looking_jwt(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2ln"
