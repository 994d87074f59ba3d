"""Per-host concurrency caps: at most N requests in flight to any one host.

`--parallelism` bounds the workers as a whole; a cap per host keeps one service (model
management, say, while runs and artifacts are read from another) from taking every one of them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class HostLimits:
    """Thread-safe gate per host; `per_host=None` lets every worker through."""

    def __init__(self, per_host: int | None = None) -> None:
        if per_host is not None and per_host < 1:
            raise ValueError("per_host must be at least 1")
        self.per_host = per_host
        self._gates: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()
        self._in_flight: dict[str, int] = {}
        self.peak: dict[str, int] = {}  # most requests seen in flight per host

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        """Hold one of `host`'s slots for the duration of a request."""
        gate = self._gate(host)
        if gate is not None:
            gate.acquire()
        try:
            with self._lock:
                now = self._in_flight[host] = self._in_flight.get(host, 0) + 1
                self.peak[host] = max(self.peak.get(host, 0), now)
            yield
        finally:
            with self._lock:
                self._in_flight[host] -= 1
            if gate is not None:
                gate.release()

    def _gate(self, host: str) -> threading.BoundedSemaphore | None:
        if self.per_host is None:
            return None
        with self._lock:
            return self._gates.setdefault(host, threading.BoundedSemaphore(self.per_host))
