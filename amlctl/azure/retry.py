"""Retry schedule and Retry-After parsing, as pure functions tests can read without sleeping."""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Iterator, Mapping

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 600.0  # seconds; a server asking for longer is treated as an outage


def backoff_delays(
    start: float = 0.5,
    cap: float = 30.0,
    factor: float = 2.0,
    rng: random.Random | None = None,
) -> Iterator[float]:
    """Exponential backoff with full jitter: uniform(0, min(cap, start * factor**n)).

    Jitter keeps ten workers that failed together from retrying together.
    """
    draw = (rng or random.Random()).uniform
    ceiling = start
    while True:
        yield draw(0, min(cap, ceiling))
        ceiling *= factor


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the server asked us to wait: Retry-After (seconds or HTTP-date), or the
    millisecond forms Azure also sends (retry-after-ms, x-ms-retry-after-ms)."""
    lowered = {key.lower(): value for key, value in headers.items()}
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        if name in lowered:
            try:
                return max(0.0, float(lowered[name]) / 1000)
            except ValueError:
                pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))
