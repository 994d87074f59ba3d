"""Progress of an apply: a live line on a terminal; one line per item (or JSON lines) in CI."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from typing import TextIO

from amlctl.apply.outcomes import Outcome
from amlctl.plan.model import Change
from amlctl.terminal import visible


class Progress:
    def __init__(self, total: int, stream: TextIO, *, live: bool, fmt: str = "text") -> None:
        self.total, self.stream, self.live, self.fmt = total, stream, live, fmt
        self.counts: Counter[str] = Counter()
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._last_draw = 0.0

    def __call__(self, change: Change, outcome: Outcome) -> None:
        with self._lock:
            self.counts[outcome.result.value] += 1
            if self.fmt == "json":
                self._json(change, outcome)
            elif self.live:
                self._draw()
            else:
                detail = f"  ({visible(outcome.detail)})" if outcome.detail else ""
                print(
                    f"{outcome.result.value:<8} {visible(change.address)}{detail}",
                    file=self.stream,
                    flush=True,
                )

    def close(self) -> None:
        if self.live and self.fmt != "json":
            self._draw(force=True)
            print(file=self.stream, flush=True)

    def _json(self, change: Change, outcome: Outcome) -> None:
        line = {  # JSON escapes control characters itself
            "address": change.address,
            "result": outcome.result.value,
            "status": outcome.status,
            "request_id": outcome.request_id,
            "detail": outcome.detail,
        }
        print(json.dumps(line, sort_keys=True), file=self.stream, flush=True)

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_draw < 0.1:
            return
        self._last_draw = now
        done = sum(self.counts.values())
        width = 30
        filled = int(width * done / self.total) if self.total else width
        rate = done / max(now - self.started, 1e-6)
        parts = ", ".join(f"{n} {name}" for name, n in sorted(self.counts.items()))
        bar = "#" * filled + "." * (width - filled)
        self.stream.write(f"\r[{bar}] {done}/{self.total} {parts} ({rate:.1f}/s)\x1b[K")
        self.stream.flush()
