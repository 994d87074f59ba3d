"""Token buckets for ARM-style throttling, on an injectable monotonic clock."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from amlctl.emulator.config import Bucket

Clock = Callable[[], float]


@dataclass(frozen=True)
class Decision:
    """The outcome of taking a token: allowed or not, what is left, how long to wait."""

    allowed: bool
    remaining: int
    retry_after: int  # whole seconds, at least 1 when refused


class TokenBucket:
    """`burst` tokens refilled continuously at `per_second`; one token per request."""

    def __init__(self, spec: Bucket, clock: Clock = time.monotonic) -> None:
        self._spec = spec
        self._clock = clock
        self._tokens = float(spec.burst)
        self._stamp = clock()
        self._lock = threading.Lock()

    def take(self) -> Decision:
        """Take one token if there is one."""
        with self._lock:
            now = self._clock()
            refill = (now - self._stamp) * self._spec.per_second
            self._tokens = min(float(self._spec.burst), self._tokens + refill)
            self._stamp = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return Decision(True, int(self._tokens), 0)
            if self._spec.per_second <= 0:
                return Decision(False, 0, 3600)
            wait = (1.0 - self._tokens) / self._spec.per_second
            return Decision(False, 0, max(1, math.ceil(wait)))


class Throttle:
    """One bucket per (subscription, operation type), created on first use."""

    def __init__(self, enabled: bool, specs: dict[str, Bucket], clock: Clock = time.monotonic):
        self._enabled = enabled
        self._specs = specs
        self._clock = clock
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._lock = threading.Lock()

    def take(self, scope: str, operation: str) -> Decision:
        """Charge one request of `operation` (e.g. reads, deletes, dataplane) to `scope`."""
        spec = self._specs.get(operation)
        if spec is None:
            return Decision(True, 0, 0)
        if not self._enabled:
            return Decision(True, spec.burst, 0)
        with self._lock:
            bucket = self._buckets.get((scope, operation))
            if bucket is None:
                bucket = self._buckets[(scope, operation)] = TokenBucket(spec, self._clock)
        return bucket.take()


class Windows:
    """The Retry-After windows the emulator's 429s opened, per scope (host and operation type).

    ARM does not process a request sent before the retry value has elapsed and answers it with a
    new one; the emulator does the same, and says so in the access log, so a test can count the
    requests a client sent into a throttled scope.
    """

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._open: dict[tuple[str, str], tuple[float, float]] = {}  # scope -> (opened, ends)
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._clock()

    def open(self, scope: tuple[str, str], seconds: float) -> None:
        with self._lock:
            now = self._clock()
            _, ends = self._open.get(scope, (now, now))
            if now + seconds > ends:
                self._open[scope] = (now, now + seconds)

    def inside(self, scope: tuple[str, str], when: float) -> tuple[float, float] | None:
        """(seconds since the window opened, seconds left) when `when` falls inside one."""
        with self._lock:
            opened, ends = self._open.get(scope, (0.0, 0.0))
        if opened < when < ends:
            return when - opened, ends - when
        return None
