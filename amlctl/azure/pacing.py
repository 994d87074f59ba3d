"""Pacing from ARM's remaining-budget headers, so amlctl slows down before ARM says 429.

ARM answers every call with `x-ms-ratelimit-remaining-subscription-reads` (GETs) or
`-deletes` (DELETEs): what is left in the caller's token bucket. While plenty is left, requests go
out as fast as the workers send them. Once the budget falls to a low-water mark, requests of that
kind to that host are spaced at the bucket's documented refill rate (reads 25/s, deletes 10/s),
which holds the budget steady instead of draining it into throttling. Hosts that send no such
header (the data plane) are never paced by budget.

A 429 pauses its whole scope (host + bucket) for every worker until its Retry-After has passed,
not just the request that got it: ARM does not process a request sent inside that window and
answers it with a new Retry-After, so the other workers' requests would only be wasted, and
count against the caller.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from amlctl.azure.retry import retry_after

# ARM's documented refill rates per service principal and region (requests per second).
REFILL_PER_SECOND = {"reads": 25.0, "deletes": 10.0, "writes": 10.0}
# How long a 429 with no Retry-After pauses its scope; and the longest pause a 429 may ask for
# (the request that got a longer one fails: the client treats such a wait as an outage, and the
# other workers are not held for it).
DEFAULT_PAUSE = 1.0
MAX_PAUSE = 600.0
_HEADER = "x-ms-ratelimit-remaining-subscription-"


def bucket_of(method: str) -> str:
    return {"GET": "reads", "HEAD": "reads", "DELETE": "deletes"}.get(method.upper(), "writes")


@dataclass
class _Budget:
    remaining: int | None = None
    next_slot: float = 0.0
    paused_until: float = 0.0  # a 429's Retry-After: no request of this scope before then


class Pacer:
    """Spaces requests per (host, bucket) once the server says the budget is low. Thread-safe."""

    def __init__(
        self,
        low_water: int = 20,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.low_water, self.clock, self.sleep = low_water, clock, sleep
        self._budgets: dict[tuple[str, str], _Budget] = {}
        self._lock = threading.Lock()
        self.waited = 0.0  # total seconds spent pacing, for benchmarks
        self.pauses = 0  # 429s that paused a scope

    def before(self, host: str, method: str) -> None:
        """Call before sending; sleeps while the scope is paused by a 429, or the budget low."""
        kind = bucket_of(method)
        self._wait_out_pause(host, kind)
        with self._lock:
            budget = self._budgets.setdefault((host, kind), _Budget())
            if budget.remaining is None:
                return
            budget.remaining -= 1  # count what is in flight, not just what was answered
            if budget.remaining > self.low_water:
                return
            now = self.clock()
            wait = max(0.0, budget.next_slot - now)
            budget.next_slot = max(now, budget.next_slot) + 1.0 / REFILL_PER_SECOND[kind]
            self.waited += wait
        if wait:
            self.sleep(wait)

    def after(
        self, host: str, method: str, headers: Mapping[str, str], status: int = 200
    ) -> None:
        """Call with each answer's status and headers; learns the remaining budget, and a 429
        pauses the scope for every worker until its Retry-After has passed."""
        kind = bucket_of(method)
        if status == 429:
            self._pause(host, kind, retry_after(headers))
        value = _header(headers, _HEADER + kind)
        if value is None:
            return
        with self._lock:
            self._budgets.setdefault((host, kind), _Budget()).remaining = value


    def paused_for(self, host: str, method: str) -> float:
        """Seconds left before the scope of `method` on `host` may be sent to again."""
        with self._lock:
            budget = self._budgets.get((host, bucket_of(method)))
            return max(0.0, budget.paused_until - self.clock()) if budget else 0.0

    def _pause(self, host: str, kind: str, asked: float | None) -> None:
        if asked is not None and asked > MAX_PAUSE:
            return  # an outage, not a pause: that request fails, the others learn it themselves
        seconds = DEFAULT_PAUSE if asked is None else asked
        with self._lock:
            budget = self._budgets.setdefault((host, kind), _Budget())
            budget.paused_until = max(budget.paused_until, self.clock() + seconds)
            self.pauses += 1

    def _wait_out_pause(self, host: str, kind: str) -> None:
        # Again after each sleep: another worker's 429 may have moved the end of the pause on.
        # Only while it moves, so a sleep that does not advance the clock (tests) cannot spin.
        waited_for = 0.0
        while True:
            with self._lock:
                budget = self._budgets.get((host, kind))
                until, now = (budget.paused_until if budget else 0.0), self.clock()
                if until <= now or until <= waited_for:
                    return
                self.waited += until - now
            self.sleep(until - now)
            waited_for = until


def _header(headers: Mapping[str, str], name: str) -> int | None:
    for key, value in headers.items():
        if key.lower() == name:
            try:
                return int(value)
            except ValueError:
                return None
    return None
