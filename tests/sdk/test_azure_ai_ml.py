"""azure-ai-ml 1.35.2 (the v2 SDK, `MLClient`) against the https emulator: the list calls of
every kind it exports (jobs, models and their versions, data, environments, components,
datastores, online endpoints and deployments, batch endpoints, schedules, computes) and the
workspace get and list, and a job's delete (`jobs.begin_delete`, long-running), made by
Microsoft's own client with a bearer token over TLS verified against the emulator's certificate.

The client is pointed at the emulator through its own front-end override (`AZUREML_DEV_URL_MFE`,
the base URL of every operation group: `_get_base_url_from_metadata(is_local_mfe=True)`) and
trusts the certificate through azure-core's `connection_verify`; its HTTP layer is not touched.
It sends its own api-version per operation group (`arm.SDK_V2_VERSIONS`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from amlctl.emulator import arm, tokens
from amlctl.emulator.seed import RESOURCE_GROUP, SUBSCRIPTION, WORKSPACE

from .conftest import TlsEmulator, tls_emulator

ml = pytest.importorskip("azure.ai.ml")
AccessToken = pytest.importorskip("azure.core.credentials").AccessToken


class EmulatorCredential:
    """An azure-core TokenCredential handing out the emulator's JWT."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        now = int(time.time())
        return AccessToken(tokens.emulator_token(now=now), now + tokens.DEFAULT_LIFETIME)


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsEmulator]:
    yield from tls_emulator(tmp_path_factory)


@pytest.fixture(scope="module")
def client(emu: TlsEmulator) -> Iterator[Any]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AZUREML_DEV_URL_MFE", f"{emu.origin}/management.azure.com")
        yield ml.MLClient(EmulatorCredential(), SUBSCRIPTION, RESOURCE_GROUP, WORKSPACE,
                          connection_verify=str(emu.pem), enable_telemetry=False)


def _names(emu: TlsEmulator, kind: str, parent: str = "", **where: Any) -> list[str]:
    """Names of the seeded items of a kind that a default list shows (ActiveOnly/EnabledOnly
    where the collection has views), from the store."""
    ws = emu.store.get_workspace(SUBSCRIPTION, RESOURCE_GROUP, WORKSPACE)
    assert ws is not None
    return sorted(item.doc["name"] for item in emu.store.page(ws.key, kind, parent=parent,
                                                                where=where))


ACTIVE = {"properties.isArchived": False}
LISTS: dict[str, tuple[Callable[[Any], Any], str, dict[str, Any]]] = {
    "jobs": (lambda c: c.jobs.list(), "job", ACTIVE),
    "models": (lambda c: c.models.list(), "model_container", ACTIVE),
    "data": (lambda c: c.data.list(), "data_container", ACTIVE),
    "environments": (lambda c: c.environments.list(), "environment_container", ACTIVE),
    "components": (lambda c: c.components.list(), "component_container", ACTIVE),
    "datastores": (lambda c: c.datastores.list(), "datastore", {}),
    "online_endpoints": (lambda c: c.online_endpoints.list(), "online_endpoint", {}),
    "batch_endpoints": (lambda c: c.batch_endpoints.list(), "batch_endpoint", {}),
    "schedules": (lambda c: c.schedules.list(), "schedule", {"properties.isEnabled": True}),
    "computes": (lambda c: c.compute.list(), "compute", {}),
}


@pytest.mark.parametrize("kind", sorted(LISTS))
def test_the_sdk_lists_what_the_emulator_holds(client: Any, emu: TlsEmulator, kind: str) -> None:
    call, stored, where = LISTS[kind]
    listed = sorted(item.name for item in call(client))
    assert listed and listed == _names(emu, stored, **where)


def test_model_versions_and_online_deployments(client: Any, emu: TlsEmulator) -> None:
    for model in client.models.list():
        versions = list(client.models.list(name=model.name))
        assert versions and all(v.name == model.name and v.version for v in versions)
    for endpoint in client.online_endpoints.list():
        deployments = sorted(d.name for d in client.online_deployments.list(endpoint.name))
        assert deployments == _names(emu, "online_deployment", endpoint.name)


def test_the_workspace(client: Any) -> None:
    workspace = client.workspaces.get(WORKSPACE)
    assert workspace.name == WORKSPACE and workspace.location == "eastus"
    assert sorted(ws.name for ws in client.workspaces.list()) == ["demo-ws", "demo-ws-eu"]


def test_every_call_was_answered_at_an_sdk_version(client: Any, emu: TlsEmulator) -> None:
    for call, _, _ in LISTS.values():
        list(call(client))
    sent = {line.split("api-version=", 1)[1].split("&", 1)[0].split('"', 1)[0]
            for line in emu.log.read_text().splitlines() if "api-version=" in line}
    assert sent and sent <= set(arm.SDK_V2_VERSIONS), sent
    arm_calls = [c for c in emu.calls() if c[1].startswith("/management.azure.com/")]
    assert arm_calls and all(status == 200 for _, _, status in arm_calls), arm_calls


def test_the_sdk_deletes_a_job_and_its_run_goes_with_it(client: Any, emu: TlsEmulator) -> None:
    """`MLClient.jobs.begin_delete` (azure-ai-ml 1.35: ARM Jobs_Delete, long-running) against
    the emulator: the job is gone, and so is its run in run history, which is how amlctl
    erases a run."""
    ws = emu.store.get_workspace(SUBSCRIPTION, RESOURCE_GROUP, WORKSPACE)
    assert ws is not None
    name = "sandbox-01"
    assert emu.store.get(ws.key, "jh_run", name) is not None
    client.jobs.begin_delete(name, polling_interval=0).result()  # the poll, not a wait
    assert emu.store.get(ws.key, "job", name) is None
    assert emu.store.get(ws.key, "jh_run", name) is None
    assert name not in [job.name for job in client.jobs.list()]
