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
    with pytest.raises(ValueError, match="at least 1"):
        HostLimits(total=0)


def test_the_cap_in_all_holds_across_hosts() -> None:
    limits = HostLimits(total=4)
    barrier = threading.Barrier(4, timeout=5)  # four in at once, by construction

    def work(host: str) -> None:
        with limits.slot(host):
            barrier.wait()

    hosts = ("management.azure.com", "eastus.api.azureml.ms") * 6
    threads = [threading.Thread(target=work, args=(host,)) for host in hosts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert limits.peak_all == 4
    assert limits.caps_total_at(4) and limits.caps_total_at(10)
    assert not limits.caps_total_at(3) and not HostLimits().caps_total_at(10)


def test_spare_workers_never_put_more_than_parallelism_in_flight(wired: Build) -> None:
    """Apply runs more workers than --parallelism for its exports; the client's cap in all is
    what keeps the requests themselves to it."""
    # each answer takes 50 ms, so twelve threads at once would have twelve in flight
    w: Wired = wired(EmulatorConfig(throttle=False, latency_ms=50), host_limits=HostLimits(total=3))
    url = expand(w.catalog.kind("workspace").op("get"), w.scope(), w.catalog.hosts)
    threads = [threading.Thread(target=w.client.get, args=(url,)) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert w.client.host_limits.peak_all == 3
