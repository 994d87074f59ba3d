"""Pacing from ARM's remaining-budget headers, so amlctl slows down before ARM says 429.

ARM answers every call with `x-ms-ratelimit-remaining-subscription-reads` (GETs) or
`-deletes` (DELETEs): what is left in the caller's token bucket. While plenty is left, requests go
out as fast as the workers send them. Once the budget falls to a low-water mark, requests of that
kind to that host are spaced at the bucket's documented refill rate (reads 25/s, deletes 10/s),
which holds the budget steady instead of draining it into throttling. Hosts that send no such
header (the data plane) are never paced here; their 429s are handled by the client's retries.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# ARM's documented refill rates per service principal and region (requests per second).
REFILL_PER_SECOND = {"reads": 25.0, "deletes": 10.0, "writes": 10.0}
_HEADER = "x-ms-ratelimit-remaining-subscription-"


def bucket_of(method: str) -> str:
    return {"GET": "reads", "HEAD": "reads", "DELETE": "deletes"}.get(method.upper(), "writes")


@dataclass
class _Budget:
    remaining: int | None = None
    next_slot: float = 0.0


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

    def before(self, host: str, method: str) -> None:
        """Call before sending; sleeps when the budget is low."""
        kind = bucket_of(method)
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

    def after(self, host: str, method: str, headers: Mapping[str, str]) -> None:
        """Call with each answer's headers; learns the remaining budget."""
        kind = bucket_of(method)
        value = _header(headers, _HEADER + kind)
        if value is None:
            return
        with self._lock:
            self._budgets.setdefault((host, kind), _Budget()).remaining = value


def _header(headers: Mapping[str, str], name: str) -> int | None:
    for key, value in headers.items():
        if key.lower() == name:
            try:
                return int(value)
            except ValueError:
                return None
    return None
