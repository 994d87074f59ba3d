"""The client against the emulator: paging, the host allow-list, retries, throttling, LROs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from amlctl.azure.breaker import Breaker
from amlctl.azure.client import Client, PollLink, RefusedLink, _redact
from amlctl.azure.pacing import Pacer
from amlctl.catalog import expand
from amlctl.emulator import EmulatorConfig
from amlctl.emulator.config import Bucket
from amlctl.emulator.seed import WORKSPACE
from amlctl.errors import ApiError, AuthError
from tests.azure.conftest import Wired

Build = Callable[..., Wired]


def _list_all(w: Wired, kind: str, **values: str) -> list[dict[str, object]]:
    operation = w.catalog.kind(kind).op("list")
    assert operation.paging is not None
    url = expand(operation, w.scope(**values), w.catalog.hosts)
    return [item for page in w.client.pages(url, operation.paging) for item in page]


@pytest.mark.parametrize("page_size", [1, 2, 100])
def test_every_paging_style_reaches_the_last_item(wired: Build, page_size: int) -> None:
    reference = _list_all(wired(), "model")
    w = wired(EmulatorConfig(throttle=False, empty_pages=1).with_page_size(page_size))
    assert [m["id"] for m in _list_all(w, "model")] == [m["id"] for m in reference]  # nextLink
    assert len(_list_all(w, "experiment")) == 3  # continuationToken as $continuationtoken
    assert len(_list_all(w, "notification_task")) == 3  # continuationToken
    assert len(_list_all(w, "compute")) == 2  # ARM nextLink with $skiptoken


def test_tokens_go_only_to_catalog_hosts_over_https(wired: Build) -> None:
    w = wired()
    for url in (
        "https://evil.example.com/subscriptions/x",
        "http://management.azure.com/subscriptions/x",
        "https://user@management.azure.com/subscriptions/x",
        "https://management.azure.com:8443/subscriptions/x",
    ):
        with pytest.raises(AuthError):
            w.client.get(url)
    # A download link comes from the service: refused, it fails its item only (test_links.py).
    with pytest.raises(RefusedLink, match="content hosts"):
        w.client.download("https://management.azure.com/subscriptions/x")
    assert w.client.stats.requests == 0  # refused before anything was sent


def test_server_errors_are_retried_with_backoff_then_reported(wired: Build) -> None:
    config = EmulatorConfig(throttle=False, fault_rate=1.0, fault_seed=1, fault_kinds=("500",))
    w = wired(config, attempts=4)
    url = expand(w.catalog.kind("model").op("get"), w.scope(id="churn-model:1"), w.catalog.hosts)
    with pytest.raises(ApiError) as failure:
        w.client.get(url)
    assert failure.value.status == 500
    assert w.client.stats.requests == 4 and len(w.sleeps) == 3


@pytest.mark.parametrize("kind", ["reset", "truncate", "503"])
def test_transient_faults_are_survived(wired: Build, kind: str) -> None:
    config = EmulatorConfig(throttle=False, fault_rate=0.5, fault_seed=3, fault_kinds=(kind,))
    w = wired(config, attempts=12)
    models = _list_all(w, "model")
    assert len(models) == len(_list_all(wired(), "model"))
    assert w.client.stats.retries > 0


def test_a_delete_with_an_unknown_outcome_is_not_resent(wired: Build) -> None:
    config = EmulatorConfig(throttle=False, fault_rate=1.0, fault_seed=1, fault_kinds=("reset",))
    w = wired(config)
    url = expand(w.catalog.kind("asset").op("delete"), w.scope(id="x"), w.catalog.hosts)
    with pytest.raises(ApiError, match="no usable answer"):
        w.client.change("DELETE", url, expect=(200, 204))
    assert w.client.stats.requests == 0  # the reset came before any answer was counted
    assert w.sleeps == []  # and nothing was sent again


def test_throttling_is_answered_by_waiting_what_retry_after_says(wired: Build) -> None:
    never_paces = Pacer(low_water=-(10**9))
    w = wired(EmulatorConfig(arm_reads=Bucket(2, 1.0)), clock=[0.0], pacer=never_paces)
    url = expand(w.catalog.kind("workspace").op("get"), w.scope(), w.catalog.hosts)
    for _ in range(4):
        assert w.client.get(url).body["name"] == WORKSPACE
    assert w.client.stats.throttled >= 1
    assert all(s >= 1.0 for s in w.sleeps)  # never earlier than the server asked


def test_pacing_on_the_remaining_budget_avoids_throttling(wired: Build) -> None:
    clock = [0.0]
    w = wired(EmulatorConfig(arm_reads=Bucket(30, 25.0)), clock=clock)
    w.client.pacer = Pacer(low_water=5, clock=lambda: clock[0], sleep=w.client.sleep)
    url = expand(w.catalog.kind("workspace").op("get"), w.scope(), w.catalog.hosts)
    for _ in range(100):
        w.client.get(url)
    assert w.client.stats.throttled == 0
    # 25 from the burst, the other 75 at the refill rate of 25/s: about three seconds.
    assert 2.5 <= clock[0] <= 3.5


def test_workspace_delete_is_polled_to_the_end(wired: Build) -> None:
    w = wired(EmulatorConfig(throttle=False, lro_polls=3))
    url = expand(w.catalog.kind("workspace").op("delete"), w.scope(), w.catalog.hosts)
    heard: list[tuple[PollLink, int]] = []
    answer = w.client.change(
        "DELETE",
        url,
        expect=(200, 202, 204),
        accepted=(202,),
        on_accepted=lambda link, reply: heard.append((link, reply.status)),
    )
    assert answer.reply.status == 202
    # The caller heard of the poll link (to journal it) before the first poll.
    assert len(heard) == 1 and heard[0][1] == 202
    assert heard[0][0].url.startswith("https://management.azure.com/")
    assert answer.operation is not None and answer.operation.body["status"] == "Succeeded"
    assert w.client.get(url, expect=(200, 404)).status == 404
    assert len(w.sleeps) == 4  # three InProgress answers, then Succeeded


def test_a_change_not_accepted_is_not_polled(wired: Build) -> None:
    w = wired(EmulatorConfig(throttle=False, lro_polls=3))
    url = expand(w.catalog.kind("workspace").op("delete"), w.scope(), w.catalog.hosts)
    answer = w.client.change("DELETE", url, expect=(200, 202, 204))
    assert answer.reply.status == 202 and answer.operation is None
    assert w.sleeps == []


def test_client_is_a_plain_value_over_an_injected_session(wired: Build) -> None:
    assert isinstance(wired().client, Client)


def test_urls_in_messages_keep_api_version_and_only_the_names_of_other_parameters() -> None:
    url = "https://h.blob.core.windows.net/c/b?api-version=1&sv=2019&sig=abc&$skiptoken=t"
    assert _redact(url) == "https://h.blob.core.windows.net/c/b?api-version=1&sv=…&sig=…&%24skiptoken=…"


def test_an_error_against_an_emulator_names_the_origin_it_went_to(wired: Build) -> None:
    w = wired(EmulatorConfig(throttle=False))
    url = expand(w.catalog.kind("model").op("get"), w.scope(id="nope:1"), w.catalog.hosts)
    with pytest.raises(ApiError) as caught:
        w.client.get(url)
    message = str(caught.value)
    assert message.startswith("GET https://eastus.modelmanagement.azureml.net/")  # what it is
    assert message.endswith(f"[sent to {w.client.target.endpoint}]")  # where it went
    assert caught.value.status == 404


def test_no_retry_once_another_host_is_found_unreachable(wired: Build) -> None:
    config = EmulatorConfig(throttle=False, fault_rate=1.0, fault_seed=1, fault_kinds=("500",))
    w = wired(config, attempts=4)
    down = "eastus.experiments.azureml.net"

    def another_worker_finds_it_down(seconds: float) -> None:  # during this request's wait
        w.sleeps.append(seconds)
        for _ in range(w.client.breaker.threshold):
            w.client.breaker.failed(down, "ConnectionError")

    w.client.sleep = another_worker_finds_it_down
    url = expand(w.catalog.kind("model").op("get"), w.scope(id="churn-model:1"), w.catalog.hosts)
    with pytest.raises(ApiError, match=f"not retried: {down} is unreachable") as failure:
        w.client.get(url)
    assert failure.value.code == "NotRetried"
    assert w.client.stats.requests == 1 and len(w.sleeps) == 1  # the stop is not held up


def test_a_retry_wait_in_real_time_ends_when_a_host_is_found_unreachable() -> None:
    breaker = Breaker(threshold=1)
    finder = threading.Timer(0.05, breaker.failed, ("h", "ConnectionError"))
    begun = time.monotonic()
    finder.start()
    breaker.wait(60.0)
    finder.join()
    assert time.monotonic() - begun < 30.0  # woken, not slept out
    breaker.wait(60.0)  # and any later wait ends at once
    assert time.monotonic() - begun < 30.0
