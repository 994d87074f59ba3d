"""Fixtures for the emulator tests: a demo-seeded store, a loopback server, an in-process one.

Everything runs on 127.0.0.1 (tests/conftest.py refuses any other connection).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from amlctl.emulator import EmulatorApp, EmulatorConfig, Store, open_store
from amlctl.emulator.adapter import ORIGIN, EmulatorAdapter
from amlctl.emulator.seed import RESOURCE_GROUP, SUBSCRIPTION, WORKSPACE
from amlctl.emulator.server import running_server
from amlctl.emulator.throttle import Clock

TOKEN = "amlctl-emulator"
ARM = "management.azure.com"
HISTORY = "eastus.experiments.azureml.net"
MMS = "eastus.modelmanagement.azureml.net"
AETHER = "eastus.aether.ms"
RG_PATH = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}"
WS_PATH = f"{RG_PATH}/providers/Microsoft.MachineLearningServices/workspaces/{WORKSPACE}"
ARM_V = {"api-version": "2019-11-01"}
MMS_V = {"api-version": "2018-11-19"}
# (ARM api-version, model-management api-version) of each built-in catalog edition
EDITIONS = {"2018-03-01-preview": ("2018-03-01-preview", "2018-03-01-preview"),
            "2019-11-01": ("2019-11-01", "2018-11-19")}
# the fields of a compute get's properties.properties that change from one get to the next
COMPUTE_LIVE = ("allocationState", "allocationStateTransitionTime", "currentNodeCount",
                "targetNodeCount", "nodeStateCounts")


@dataclass
class Emu:
    """A running emulator and a client session for it."""

    origin: str
    app: EmulatorApp
    store: Store
    session: requests.Session

    def url(self, host: str, path: str) -> str:
        return f"{self.origin}/{host}{path}"

    def get(self, host: str, path: str, params: dict[str, str] | None = None,
            **kwargs: Any) -> requests.Response:
        return self.session.get(self.url(host, path), params=params, timeout=10, **kwargs)

    def delete(self, host: str, path: str, params: dict[str, str] | None = None,
               **kwargs: Any) -> requests.Response:
        return self.session.delete(self.url(host, path), params=params, timeout=10, **kwargs)

    def follow(self, url: str, **kwargs: Any) -> requests.Response:
        return self.session.get(url, timeout=10, **kwargs)


Factory = Callable[..., Emu]


def _session(token: str | None = TOKEN) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxies from the environment
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    return session


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "emulator.sqlite3"


@pytest.fixture
def make_emu(db_path: Path) -> Iterator[Factory]:
    """Start emulators: make_emu(config=None, seed="demo", clock=None, inprocess=False)."""
    with ExitStack() as stack:
        stores: dict[str, Store] = {}

        def make(config: EmulatorConfig | None = None, seed: str = "demo",
                 clock: Clock | None = None, inprocess: bool = False) -> Emu:
            if seed not in stores:
                stores[seed] = open_store(db_path.with_suffix(f".{seed}.sqlite3"), seed)
                stack.callback(stores[seed].close)
            store = stores[seed]
            app = EmulatorApp(store, config, clock=clock) if clock else EmulatorApp(store, config)
            stack.callback(app.close)
            session = _session()
            stack.callback(session.close)
            if inprocess:
                session.mount(ORIGIN, EmulatorAdapter(app))
                return Emu(ORIGIN, app, store, session)
            server = stack.enter_context(running_server(app))
            return Emu(server.origin, app, store, session)

        yield make


@pytest.fixture
def emu(make_emu: Factory) -> Emu:
    """A loopback emulator over a fresh demo database, default config."""
    return make_emu()


def no_token_session() -> requests.Session:
    return _session(None)
