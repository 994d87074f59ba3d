"""The walk's workers: any number of them reads the same inventory, and a failure anywhere,
in a request or in handing its result in, ends the walk with that error instead of a hang."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from amlctl import inventory
from amlctl.azure.auth import StaticToken
from amlctl.azure.client import Client
from amlctl.azure.target import Target
from amlctl.catalog import Catalog
from amlctl.emulator import EmulatorApp, EmulatorConfig, open_store
from amlctl.emulator.adapter import ORIGIN, EmulatorAdapter
from amlctl.errors import ApiError
from amlctl.manifest import load_manifest

ROOT = Path(__file__).resolve().parents[2]
EXPORT_ALL = ROOT / "plans" / "examples" / "workspace-export.yaml"
DSR = ROOT / "plans" / "examples" / "dsr-export-erase.yaml"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[EmulatorApp]:
    store = open_store(tmp_path / "emulator.db", "demo")
    served = EmulatorApp(store, EmulatorConfig(throttle=False))
    yield served
    served.close()


def client_of(app: EmulatorApp, catalog: Catalog) -> Client:
    session = requests.Session()
    session.mount(ORIGIN, EmulatorAdapter(app))
    return Client(session, Target.at(ORIGIN), StaticToken(), catalog.hosts,
                  catalog.content_hosts, sleep=lambda seconds: None, poll_interval=0.0)


def walk(app: EmulatorApp, path: Path, parallelism: int, **options: object) -> inventory.Inventory:
    manifest, catalog = load_manifest(path)
    return inventory.fetch(manifest, catalog, client_of(app, catalog), parallelism=parallelism,
                           **options)  # type: ignore[arg-type]


def listing(found: inventory.Inventory) -> dict[tuple[str, str], list[tuple[str, str | None]]]:
    return {key: [(item.id, item.parent) for item in items] for key, items in found.items.items()}


@pytest.mark.parametrize("path", [EXPORT_ALL, DSR])
def test_any_number_of_workers_reads_the_same_inventory_in_the_same_order(
    app: EmulatorApp, path: Path
) -> None:
    one = walk(app, path, 1)
    assert sum(len(items) for items in one.items.values()) > 10
    for parallelism in (2, 10, 40):
        many = walk(app, path, parallelism)
        assert listing(many) == listing(one)
        assert many.lookups.keys() == one.lookups.keys()


def test_a_failing_progress_report_ends_the_walk_with_its_error(app: EmulatorApp) -> None:
    said: list[str] = []

    def progress(message: str) -> None:
        said.append(message)
        if len(said) == 3:
            raise BrokenPipeError("stderr went away")

    with pytest.raises(BrokenPipeError, match="stderr went away"):
        walk(app, EXPORT_ALL, 10, progress=progress)


def test_a_failing_request_ends_the_walk_with_the_first_failure(tmp_path: Path) -> None:
    config = EmulatorConfig(throttle=False, fault_rate=1.0, fault_seed=1)
    failing = EmulatorApp(open_store(tmp_path / "faults.db", "demo"), config)
    try:
        manifest, catalog = load_manifest(EXPORT_ALL)
        client = client_of(failing, catalog)
        with pytest.raises(ApiError):
            inventory.fetch(manifest, catalog, client, parallelism=10)
    finally:
        failing.close()
