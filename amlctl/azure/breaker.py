"""A circuit breaker per host: after repeated connection failures in a row, stop calling it.

With the service down, every request would spend its whole retry schedule (seconds each) on a
host that answers nobody, item after item. Once `threshold` attempts in a row (across every
worker) got no answer at all, the host counts as unreachable: later requests to it fail at once
with ServiceUnreachable, and the executor starts nothing new. Any answer, even an error status,
shows the host is there and resets the count.
"""

from __future__ import annotations

import threading

from amlctl.errors import ApiError

DEFAULT_THRESHOLD = 5


class ServiceUnreachable(ApiError):
    """The host did not answer `threshold` attempts in a row; nothing more is sent to it."""


class Breaker:
    """Thread-safe count of connection failures in a row, per host."""

    def __init__(self, threshold: int = DEFAULT_THRESHOLD) -> None:
        if threshold < 1:
            raise ValueError("threshold must be at least 1")
        self.threshold = threshold
        self._failures: dict[str, int] = {}
        self._open: dict[str, str] = {}  # host -> what the last failure was
        self._lock = threading.Lock()
        self._tripped = threading.Event()  # set once any host is unreachable

    def check(self, method: str, url: str, host: str) -> None:
        """Raise ServiceUnreachable when `host` is known to be unreachable."""
        with self._lock:
            why = self._open.get(host)
        if why is not None:
            raise ServiceUnreachable(
                method, url, None, "ServiceUnreachable",
                f"{host} is unreachable ({self.threshold} attempts in a row got no answer, "
                f"the last: {why}); nothing more is sent to it",
            )

    def is_open(self, host: str) -> bool:
        """Whether `host` counts as unreachable: a dict read, atomic without the lock."""
        return host in self._open

    def failed(self, host: str, why: str) -> None:
        with self._lock:
            count = self._failures[host] = self._failures.get(host, 0) + 1
            if count >= self.threshold:
                self._open.setdefault(host, why)
                self._tripped.set()

    def wait(self, seconds: float) -> None:
        """Sleep `seconds`, or less: until some host is found unreachable. A retry's wait
        then ends at once: the command stops, and the wait would only hold the stop up."""
        self._tripped.wait(seconds)

    def answered(self, host: str) -> None:
        with self._lock:
            self._failures[host] = 0

    @property
    def unreachable(self) -> str | None:
        """The first host found unreachable, or None."""
        with self._lock:
            return next(iter(self._open), None)
