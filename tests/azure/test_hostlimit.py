from __future__ import annotations

import threading

import pytest

from amlctl.azure.hostlimit import HostLimits
from amlctl.catalog import expand
from amlctl.emulator import EmulatorConfig
from tests.azure.conftest import Wired
from tests.azure.test_client import Build


def _hammer(limits: HostLimits, host: str, workers: int, together: int) -> None:
    """`workers` threads through `host`'s slots; inside, each waits until `together` are in,
    so the peak is reached by construction, not by timing."""
    barrier = threading.Barrier(together, timeout=5)

    def work() -> None:
        with limits.slot(host):
            barrier.wait()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_no_more_than_the_cap_is_in_flight_to_one_host() -> None:
    limits = HostLimits(per_host=3)
    _hammer(limits, "eastus.modelmanagement.azureml.net", 12, together=3)
    _hammer(limits, "management.azure.com", 2, together=2)
    assert limits.peak == {"eastus.modelmanagement.azureml.net": 3, "management.azure.com": 2}


def test_without_a_cap_every_worker_goes_through() -> None:
    limits = HostLimits()
    _hammer(limits, "eastus.aether.ms", 8, together=8)
    assert limits.peak["eastus.aether.ms"] == 8


def test_the_client_sends_through_its_host_limits(wired: Build) -> None:
    w: Wired = wired(EmulatorConfig(throttle=False), host_limits=HostLimits(per_host=1))
    url = expand(w.catalog.kind("workspace").op("get"), w.scope(), w.catalog.hosts)
    w.client.get(url)
    assert w.client.host_limits.peak == {"management.azure.com": 1}


def test_a_cap_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        HostLimits(per_host=0)
