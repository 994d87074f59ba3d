from __future__ import annotations

import random
from itertools import islice

from amlctl.azure.retry import backoff_delays, retry_after


def test_backoff_grows_exponentially_with_full_jitter_and_a_cap() -> None:
    delays = list(islice(backoff_delays(start=1, cap=8, rng=random.Random(7)), 8))
    ceilings = [1, 2, 4, 8, 8, 8, 8, 8]
    assert all(0 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert len(set(delays)) == len(delays)  # jittered: no two workers retry in lockstep


def test_retry_after_reads_seconds_http_dates_and_milliseconds() -> None:
    assert retry_after({"Retry-After": "7"}) == 7
    assert retry_after({"retry-after-ms": "1500"}) == 1.5
    assert retry_after({"x-ms-retry-after-ms": "250"}) == 0.25
    date = "Wed, 21 Oct 2015 07:28:00 GMT"
    assert retry_after({"Retry-After": date}, now=1445412470.0) == 10.0
    assert retry_after({"Retry-After": date}, now=1445412490.0) == 0.0  # in the past
    assert retry_after({"Retry-After": "soon"}) is None
    assert retry_after({}) is None
