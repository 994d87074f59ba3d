"""Concurrency caps: at most N requests in flight in all, and at most M to any one host.

`--parallelism` is the cap in all: apply runs a few more workers than that, so that files are
written while the requests are in flight, and the cap keeps the requests themselves to N. A cap
per host keeps one service (model management, say, while runs and artifacts are read from
another) from taking every slot.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from queue import SimpleQueue


class HostLimits:
    """Thread-safe gates, one in all and one per host; None lets every worker through."""

    def __init__(self, per_host: int | None = None, total: int | None = None) -> None:
        if per_host is not None and per_host < 1:
            raise ValueError("per_host must be at least 1")
        if total is not None and total < 1:
            raise ValueError("total must be at least 1")
        self.per_host, self.total = per_host, total
        # Slots as tokens in a SimpleQueue: its get waits in C, where a threading semaphore
        # waits in Python on a Condition and, woken, queues for the GIL once more per step.
        self._all: SimpleQueue[None] | None = None
        if total is not None:
            self._all = SimpleQueue()
            for _ in range(total):
                self._all.put(None)
        self._gates: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()
        self._in_flight: dict[str, int] = {}
        self._in_flight_all = 0
        self.peak: dict[str, int] = {}  # most requests seen in flight per host
        self.peak_all = 0  # and in all

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        """Hold one of `host`'s slots, then one of all, for the duration of a request. The
        host's first: a worker waiting on a busy host holds none of the slots others can use."""
        gate = self._gate(host)
        if gate is not None:
            gate.acquire()
        try:
            if self._all is not None:
                self._all.get()
            try:
                with self._lock:
                    now = self._in_flight[host] = self._in_flight.get(host, 0) + 1
                    self.peak[host] = max(self.peak.get(host, 0), now)
                    self._in_flight_all += 1
                    self.peak_all = max(self.peak_all, self._in_flight_all)
                yield
            finally:
                with self._lock:
                    self._in_flight[host] -= 1
                    self._in_flight_all -= 1
                if self._all is not None:
                    self._all.put(None)
        finally:
            if gate is not None:
                gate.release()

    def caps_total_at(self, parallelism: int) -> bool:
        """Whether no more than `parallelism` requests can be in flight, whatever the workers."""
        return self.total is not None and self.total <= parallelism

    def _gate(self, host: str) -> threading.BoundedSemaphore | None:
        if self.per_host is None:
            return None
        with self._lock:
            return self._gates.setdefault(host, threading.BoundedSemaphore(self.per_host))
