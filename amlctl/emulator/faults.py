"""Injected latency and faults, drawn from a seeded generator so a run can be replayed.

A fault kind is one of `config.FAULT_KINDS`. 500, 503 and connection resets hit before the
request is handled (nothing changes on the server); truncated bodies and stalls hit after it
(the change happened, but the client never sees a full answer), which is the case a client's
retry logic must survive without deleting twice.
"""

from __future__ import annotations

import random
import threading

from amlctl.emulator.config import EmulatorConfig

BEFORE = frozenset({"500", "503", "reset"})
AFTER = frozenset({"truncate", "stall"})


class FaultPlan:
    """Decides, request by request, whether and how to misbehave."""

    def __init__(self, config: EmulatorConfig) -> None:
        self._rate = config.fault_rate
        self._kinds = tuple(config.fault_kinds)
        self._random = random.Random(config.fault_seed)
        self._throttle_rate = config.throttle_rate
        # A stream of its own: adding throttling leaves a fault seed's faults where they were.
        seed = None if config.fault_seed is None else config.fault_seed + 1
        self._throttle_random = random.Random(seed)
        self._lock = threading.Lock()

    def draw(self) -> str | None:
        """The fault for the next request, or None. Draws stay in request order under a lock."""
        if self._rate <= 0 or not self._kinds:
            return None
        with self._lock:
            hit = self._random.random() < self._rate
            kind = self._random.choice(self._kinds)
        return kind if hit else None

    def throttled(self) -> bool:
        """Whether to answer the next request 429 (injected throttling)."""
        if self._throttle_rate <= 0:
            return False
        with self._lock:
            return self._throttle_random.random() < self._throttle_rate
