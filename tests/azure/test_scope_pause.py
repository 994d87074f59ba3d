"""A 429 pauses its whole scope (host + bucket) for every worker until its Retry-After passes:
no request goes to a throttled scope inside its window, not only the one that got the 429."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from amlctl.azure.auth import StaticToken
from amlctl.azure.client import Client
from amlctl.azure.pacing import Pacer
from amlctl.azure.target import Target
from amlctl.catalog import expand, load_catalog
from amlctl.emulator import EmulatorApp, EmulatorConfig, open_store
from amlctl.emulator.adapter import ORIGIN, EmulatorAdapter
from amlctl.emulator.seed import RESOURCE_GROUP, SUBSCRIPTION, WORKSPACE

ARM = "management.azure.com"
# A request already on its way when the 429 came back could not have known: the window of a
# 429 starts when it was answered, and this is how long it takes to reach the client.
IN_FLIGHT_GRACE_MS = 50


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_429_pauses_every_worker_of_its_scope_until_retry_after() -> None:
    clock = FakeClock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    pacer.after(ARM, "GET", {"Retry-After": "3"}, 429)
    assert abs(pacer.paused_for(ARM, "GET") - 3.0) < 1e-9
    pacer.before(ARM, "DELETE")  # another bucket: not paused
    pacer.before("eastus.api.azureml.ms", "GET")  # another host: not paused
    assert clock.slept == []
    pacer.before(ARM, "GET")  # any worker's next read waits the window out
    assert clock.slept == [3.0] and pacer.paused_for(ARM, "GET") == 0.0
    pacer.before(ARM, "GET")
    assert clock.slept == [3.0]  # once only


def test_the_millisecond_forms_and_a_bare_429_pause_too() -> None:
    clock = FakeClock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    pacer.after(ARM, "GET", {"x-ms-retry-after-ms": "250"}, 429)
    assert abs(pacer.paused_for(ARM, "GET") - 0.25) < 1e-9
    pacer.after(ARM, "DELETE", {}, 429)  # no Retry-After: a second, not nothing
    assert abs(pacer.paused_for(ARM, "DELETE") - 1.0) < 1e-9
    pacer.after(ARM, "GET", {"Retry-After": "0.1"}, 429)  # a shorter one never shortens it
    assert abs(pacer.paused_for(ARM, "GET") - 0.25) < 1e-9


def _client(app: EmulatorApp) -> tuple[Client, str]:
    session = requests.Session()
    session.mount(ORIGIN, EmulatorAdapter(app))
    catalog = load_catalog()
    client = Client(session, Target.at(ORIGIN), StaticToken(), catalog.hosts,
                    catalog.content_hosts, attempts=20)
    scope = {"subscriptionId": SUBSCRIPTION, "resourceGroupName": RESOURCE_GROUP,
             "workspaceName": WORKSPACE, "location": "eastus"}
    url = expand(catalog.kind("workspace").op("get"), scope, catalog.hosts)
    return client, url


def test_ten_workers_send_nothing_into_a_throttled_window(tmp_path: Path) -> None:
    """The defect: each request honoured its own Retry-After, so the nine other workers kept
    sending into the window (about 40% of requests at parallelism 10)."""
    log = tmp_path / "access.log"
    config = EmulatorConfig(throttle=False, throttle_rate=0.05, throttle_retry_after_ms=100,
                            latency_ms=2, fault_seed=7, access_log=log)
    app = EmulatorApp(open_store(tmp_path / "emu.db", "demo"), config)
    client, url = _client(app)
    try:
        with ThreadPoolExecutor(10) as pool:
            names = list(pool.map(lambda _: client.get(url).body["name"], range(300)))
    finally:
        app.close()
    assert names == [WORKSPACE] * 300
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    throttled = [e for e in entries if e.get("fault") == "429"]
    inside = [e["inWindowMs"] for e in entries if "inWindowMs" in e]
    assert len(throttled) >= 5  # the windows were there to be hit
    late = [ms for ms in inside if ms > IN_FLIGHT_GRACE_MS]
    assert late == [], f"{len(late)} requests sent into a throttled window: {late[:10]} ms"
    assert client.pacer.pauses == len(throttled) + len(inside)


def test_a_retry_after_past_the_cap_pauses_no_one() -> None:
    """Such a 429 fails its own request (an outage); the other workers must not sleep for it."""
    clock = FakeClock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    pacer.after(ARM, "GET", {"Retry-After": "3600"}, 429)
    assert pacer.paused_for(ARM, "GET") == 0.0
