"""Injected latency and faults over loopback and in process, and their reproducibility."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from amlctl.emulator import EmulatorApp, EmulatorConfig, Store
from amlctl.emulator.faults import FaultPlan

from .conftest import ARM, ARM_V, MMS, MMS_V, WS_PATH, Factory


def only(kind: str, **extra: object) -> EmulatorConfig:
    return EmulatorConfig(fault_rate=1.0, fault_kinds=(kind,), **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize("inprocess", [False, True])
@pytest.mark.parametrize("kind,status", [("500", 500), ("503", 503)])
def test_status_faults(make_emu: Factory, inprocess: bool, kind: str, status: int) -> None:
    emu = make_emu(only(kind), inprocess=inprocess)
    response = emu.get(ARM, WS_PATH, ARM_V)
    assert response.status_code == status and "error" in response.json()


@pytest.mark.parametrize("inprocess", [False, True])
def test_connection_reset(make_emu: Factory, inprocess: bool) -> None:
    emu = make_emu(only("reset"), inprocess=inprocess)
    with pytest.raises(requests.ConnectionError):
        emu.get(ARM, WS_PATH, ARM_V)


@pytest.mark.parametrize("inprocess", [False, True])
def test_truncated_body(make_emu: Factory, inprocess: bool) -> None:
    emu = make_emu(only("truncate"), inprocess=inprocess)
    with pytest.raises((requests.exceptions.ChunkedEncodingError,
                        requests.exceptions.ConnectionError)):
        emu.get(MMS, f"/api{WS_PATH}/models", MMS_V)


@pytest.mark.parametrize("inprocess", [False, True])
def test_stall_past_the_read_timeout(make_emu: Factory, inprocess: bool) -> None:
    emu = make_emu(only("stall", stall_seconds=2.0), inprocess=inprocess)
    with pytest.raises(requests.exceptions.ReadTimeout):
        emu.session.get(emu.url(ARM, WS_PATH), params=ARM_V, timeout=(2, 0.2))


def test_truncated_deletes_still_happen(make_emu: Factory) -> None:
    emu = make_emu(only("truncate"))
    with pytest.raises(requests.exceptions.RequestException):
        emu.delete(MMS, f"/api{WS_PATH}/models/fraud-detect%3A2", MMS_V)
    assert emu.store.get(emu.store.list_workspaces()[0].key, "model", "fraud-detect:2") is None


def test_fault_sequences_replay_with_a_seed() -> None:
    config = EmulatorConfig(fault_rate=0.3, fault_seed=42)
    first, second = FaultPlan(config), FaultPlan(config)
    draws = [first.draw() for _ in range(200)]
    assert draws == [second.draw() for _ in range(200)]
    hits = [d for d in draws if d]
    assert 30 < len(hits) < 90 and len(set(hits)) == 5


def test_fault_rate_and_the_access_log(make_emu: Factory, tmp_path: Path) -> None:
    log = tmp_path / "access.jsonl"
    emu = make_emu(EmulatorConfig(fault_rate=0.5, fault_seed=7, fault_kinds=("500", "503"),
                                  access_log=log))
    statuses = [emu.get(ARM, WS_PATH, ARM_V).status_code for _ in range(40)]
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line["status"] for line in lines] == statuses
    assert sum(1 for line in lines if "fault" in line) == sum(s >= 500 for s in statuses) > 0


def test_latency_is_added_per_request(make_emu: Factory) -> None:
    emu = make_emu(EmulatorConfig(latency_ms=30), inprocess=True)
    slept: list[float] = []
    emu.app.sleep = slept.append
    emu.get(ARM, WS_PATH, ARM_V)
    emu.get(ARM, WS_PATH, ARM_V)
    assert slept == [0.03, 0.03]


@pytest.mark.parametrize("changes", [{"latency_ms": -1}, {"fault_rate": 1.5},
                                     {"fault_kinds": ("explode",)}, {"page_sizes": {"arm": 0}}])
def test_bad_config_values_are_usage_errors(changes: dict[str, object]) -> None:
    from amlctl.errors import UsageError

    with pytest.raises(UsageError):
        EmulatorConfig().replace(**changes)
    with pytest.raises(UsageError):
        EmulatorApp(Store(":memory:"), EmulatorConfig(**changes))  # type: ignore[arg-type]
