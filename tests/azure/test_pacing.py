from __future__ import annotations

from amlctl.azure.pacing import Pacer


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_no_pacing_until_the_server_reports_a_budget() -> None:
    clock = FakeClock()
    pacer = Pacer(low_water=5, clock=clock, sleep=clock.sleep)
    for _ in range(50):
        pacer.before("management.azure.com", "GET")
    assert clock.now == 100.0


def test_low_budget_spaces_requests_at_the_refill_rate() -> None:
    clock = FakeClock()
    pacer = Pacer(low_water=5, clock=clock, sleep=clock.sleep)
    host = "management.azure.com"
    pacer.after(host, "DELETE", {"x-ms-ratelimit-remaining-subscription-deletes": "8"})
    for _ in range(13):
        pacer.before(host, "DELETE")
    # Two go out freely (budget 8 -> 6); from the low-water mark on, the remaining eleven are
    # spaced 0.1 s apart (10 deletes/s), the first of them at once.
    assert abs(clock.now - 101.0) < 1e-9
    assert abs(pacer.waited - 1.0) < 1e-9


def test_buckets_are_per_host_and_kind() -> None:
    clock = FakeClock()
    pacer = Pacer(low_water=5, clock=clock, sleep=clock.sleep)
    pacer.after("management.azure.com", "GET", {"x-ms-ratelimit-remaining-subscription-reads": "0"})
    pacer.before("management.azure.com", "DELETE")  # deletes budget unknown: not paced
    pacer.before("eastus.modelmanagement.azureml.net", "GET")  # other host: not paced
    assert clock.now == 100.0
    pacer.before("management.azure.com", "GET")
    pacer.before("management.azure.com", "GET")
    assert abs(clock.now - 100.04) < 1e-9  # one 1/25 s gap between the two reads
