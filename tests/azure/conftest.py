"""A Client wired to the emulator through its in-process adapter, with sleeps recorded."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from amlctl.azure.auth import StaticToken
from amlctl.azure.client import Client
from amlctl.azure.target import Target
from amlctl.catalog import Catalog, load_catalog
from amlctl.emulator import EmulatorApp, EmulatorConfig, open_store
from amlctl.emulator.adapter import ORIGIN, EmulatorAdapter
from amlctl.emulator.seed import RESOURCE_GROUP, SUBSCRIPTION, WORKSPACE


@dataclass
class Wired:
    client: Client
    app: EmulatorApp
    catalog: Catalog
    sleeps: list[float] = field(default_factory=list)

    def scope(self, **extra: str) -> dict[str, str]:
        return {
            "subscriptionId": SUBSCRIPTION,
            "resourceGroupName": RESOURCE_GROUP,
            "workspaceName": WORKSPACE,
            "location": "eastus",
            **extra,
        }


@pytest.fixture
def wired(tmp_path: Path) -> Iterator[Callable[..., Wired]]:
    """Build clients over a fresh demo emulator; `config` tunes the emulator."""
    opened: list[tuple[EmulatorApp, requests.Session]] = []

    def build(
        config: EmulatorConfig | None = None,
        *,
        clock: list[float] | None = None,
        **client_options: object,
    ) -> Wired:
        """With `clock`, the emulator's time is clock[0] and the client's sleeps advance it."""
        store = open_store(tmp_path / f"emulator-{len(opened)}.db", "demo")
        if clock is None:
            app = EmulatorApp(store, config or EmulatorConfig(throttle=False))
        else:
            app = EmulatorApp(store, config, clock=lambda: clock[0])
        session = requests.Session()
        session.mount(ORIGIN, EmulatorAdapter(app))
        catalog = load_catalog()
        sleeps: list[float] = []

        def sleep(seconds: float) -> None:
            sleeps.append(seconds)
            if clock is not None:
                clock[0] += seconds

        client = Client(
            session,
            Target.at(ORIGIN),
            StaticToken(),
            catalog.hosts,
            catalog.content_hosts,
            sleep=sleep,
            poll_interval=0.0,
            **client_options,
        )  # type: ignore[arg-type]
        opened.append((app, session))
        return Wired(client, app, catalog, sleeps)

    yield build
    for app, session in opened:
        session.close()
        app.close()
