"""azureml-core 1.61 (the v1 SDK) against the https emulator: get the workspace, list
experiments and runs with their details, list models, list datastores; every call it makes is
answered 200.

Installed with the optional `sdk` extra (`pip install -e '.[test,sdk]'`); skipped without it.
It is not in the `test` extra because it pins pathspec<1, which mypy 2 needs at 1 or later, and
pyOpenSSL<=26, which holds cryptography below 47.

How it is pointed at the emulator, with its own switches only (its HTTP layer is not touched):
- auth: a custom `AbstractAuthentication` (the SDK's extension point) whose token is the
  emulator's JWT and whose cloud is AzureCloud with `resource_manager` set to the routed ARM
  origin: the per-auth ARM endpoint the SDK uses for every ARM call (sovereign clouds and
  Azure Stack work the same way);
- data plane: nothing to set; the SDK reads the workspace's `discoveryUrl`, which the emulator
  routes to itself, and the discovery document names the emulator for every service;
- TLS: `REQUESTS_CA_BUNDLE` (requests, under both of its HTTP stacks) names the certificate;
- HOME is a temporary folder before the SDK is imported, since it caches discovery answers in
  ~/.azureml/.discovery (the path is fixed at import).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from amlctl.emulator import tokens
from amlctl.emulator.seed import (
    DEMO_DATASTORES,
    DEMO_MODEL_IDS,
    DEMO_RUNS,
    RESOURCE_GROUP,
    SUBSCRIPTION,
    WORKSPACE,
)

from .conftest import TlsEmulator, tls_emulator

pytestmark = [
    # azureml-core's own imports warn (pkg_resources, datetime.utcnow, ...): not ours to fix
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]


@pytest.fixture(scope="module")
def sdk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """azureml-core's modules, imported with HOME in a temporary folder."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        patch.delenv("AZUREML_CURRENT_CLOUD", raising=False)
        core = pytest.importorskip("azureml.core")
        authentication = pytest.importorskip("azureml.core.authentication")
        discovery = pytest.importorskip("azureml._base_sdk_common.service_discovery")
        cache = discovery.CachedServiceDiscovery.__init__.__defaults__[0]
        assert str(cache).startswith(str(home)), f"discovery cache outside HOME: {cache}"
        yield {"core": core, "auth": authentication, "home": home}


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsEmulator]:
    yield from tls_emulator(tmp_path_factory)


@pytest.fixture(scope="module")
def workspace(sdk: dict[str, Any], emu: TlsEmulator) -> Iterator[Any]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REQUESTS_CA_BUNDLE", str(emu.pem))
        patch.setenv("HOME", str(sdk["home"]))
        for name in ("AZUREML_SERVICE_ENDPOINT", "AZUREML_MMS_TEST_ENDPOINT",
                     "AZUREML_DISCOVERY_SERVICE_ENDPOINT", "AZUREML_EXPERIMENTATION_HOST"):
            patch.delenv(name, raising=False)  # discovery must come from the workspace
        auth = emulator_auth(sdk["auth"], f"{emu.origin}/management.azure.com/")
        yield sdk["core"].Workspace.get(WORKSPACE, auth=auth, subscription_id=SUBSCRIPTION,
                                        resource_group=RESOURCE_GROUP)


def emulator_auth(authentication: Any, arm_endpoint: str) -> Any:
    """An azureml-core auth object for the emulator (see the module's docstring)."""

    class EmulatorAuthentication(authentication.AbstractAuthentication):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(cloud="AzureCloud")  # a known cloud: no metadata fetched
            self._cloud_type = copy.deepcopy(self._cloud_type)
            self._cloud_type.endpoints.resource_manager = arm_endpoint

        def _get_arm_token(self) -> str:
            return tokens.emulator_token()

        def _get_azureml_client_token(self) -> str:
            return tokens.emulator_token()

        def _get_graph_token(self) -> str:
            raise NotImplementedError("the emulator has no Graph")

        def _get_all_subscription_ids(self) -> tuple[list[Any], str]:
            demo = authentication._SubscriptionInfo("demo", SUBSCRIPTION)
            return [demo], tokens.EMULATOR_TENANT_ID

        def _get_workspace(self, subscription_id: str, resource_group: str,
                           name: str) -> None:
            return None  # ask ARM, as a real auth does

    return EmulatorAuthentication()


def test_the_workspace_comes_from_arm_and_discovery(workspace: Any, emu: TlsEmulator) -> None:
    assert workspace.name == WORKSPACE and workspace.location == "eastus"
    assert workspace.discovery_url == f"{emu.origin}/eastus.experiments.azureml.net/discovery"
    assert workspace.service_context._get_run_history_url().startswith(emu.origin)


def test_experiments_runs_and_run_details(sdk: dict[str, Any], workspace: Any) -> None:
    experiments = sdk["core"].Experiment.list(workspace)
    assert [e.name for e in experiments] == ["churn-model", "fraud-detect", "sandbox"]
    churn = next(e for e in experiments if e.name == "churn-model")
    runs = list(churn.get_runs())
    expected = [run[2] for run in DEMO_RUNS if run[1] == "churn-model"]
    assert [r.id for r in runs] == sorted(expected, reverse=True)  # newest start first
    details = runs[-1].get_details()
    assert details["runId"] == expected[0] and details["status"] == "Completed"
    assert set(details["logFiles"]) == {"logs/train.log"}
    one = sdk["core"].Run(churn, expected[0])
    assert one.get_status() == "Completed"


def test_models(sdk: dict[str, Any], workspace: Any) -> None:
    models = sdk["core"].Model.list(workspace)
    assert sorted(m.id for m in models) == sorted(DEMO_MODEL_IDS)
    latest = sdk["core"].Model.list(workspace, latest=True)
    assert sorted(m.id for m in latest) == ["churn-model:2", "fraud-detect:2", "sandbox-model:1"]
    first = sdk["core"].Model(workspace, name="churn-model", version=1)
    assert first.run_id == DEMO_RUNS[0][2]


def test_datastores_including_adls_gen2(sdk: dict[str, Any], workspace: Any) -> None:
    stores = workspace.datastores
    assert sorted(stores) == sorted(DEMO_DATASTORES)
    lake = stores["datalake"]
    assert type(lake).__name__ == "AzureDataLakeGen2Datastore"
    assert lake.client_id and lake.tenant_id == tokens.EMULATOR_TENANT_ID
    assert sdk["core"].Datastore.get(workspace, "workspaceblobstore").account_name


def test_every_call_was_answered(emu: TlsEmulator, workspace: Any) -> None:
    calls = emu.calls()
    refused = [call for call in calls if call[2] != 200]
    assert calls and not refused, refused
    hosts = {path.split("/", 2)[1] for _, path, _ in calls}
    assert hosts <= {"management.azure.com", "eastus.experiments.azureml.net",
                     "eastus.modelmanagement.azureml.net"}, hosts
