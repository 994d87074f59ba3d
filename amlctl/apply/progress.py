"""Progress of an apply: what people watching it need, and no more.

On a terminal, one line redrawn in place: phase, done/total, rate, elapsed and ETA. Without
one (CI logs), a summary line every `interval` seconds and at the end, plus one line for each
item that did not go as planned (failed, skipped, blocked): a 100,000-item apply must not
print 100,000 lines. `--format json` keeps one object per item for scripts. Items a previous
run finished (a resume) are counted once at the start, never announced again.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection
from typing import TextIO

from amlctl.apply.outcomes import DONE, Outcome
from amlctl.plan.model import Action, Change
from amlctl.terminal import visible

_LINE = json.JSONEncoder(sort_keys=True)  # one for all lines: dumps builds one each
SUMMARY_INTERVAL = 10.0  # seconds between summary lines in a CI log
_PHASES = {Action.EXPORT: "exporting", Action.DELETE: "deleting"}


class Progress:
    def __init__(
        self, total: int, stream: TextIO, *, live: bool, fmt: str = "text",
        finished: Collection[str] = (), interval: float = SUMMARY_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total, self.stream, self.live, self.fmt = total, stream, live, fmt
        self.finished, self.interval, self.clock = frozenset(finished), interval, clock
        self.counts: Counter[str] = Counter()
        self.started = self._last_draw = self._last_summary = clock()
        self.phase = "starting"
        self.resumed = 0
        self._lock = threading.Lock()
        if self.finished and fmt != "json":
            print(f"Resuming: {len(self.finished)} of {total} items were done by an earlier "
                  "run and are not redone.", file=stream, flush=True)

    def __call__(self, change: Change, outcome: Outcome) -> None:
        with self._lock:
            if change.address in self.finished and self.fmt != "json":
                self.resumed += 1  # an earlier run's item, from the journal: counted, not shown
                return
            self.counts[outcome.result.value] += 1
            self.phase = _PHASES.get(change.action, self.phase)
            if self.fmt == "json":
                self._json(change, outcome)
            elif self.live:
                self._draw()
            else:
                self._log(change, outcome)

    def close(self) -> None:
        if self.fmt == "json":
            return
        if self.live:
            self._draw(force=True)
            print(file=self.stream, flush=True)
        else:
            self.phase = "done"
            print(f"amlctl: {self.line()}", file=self.stream, flush=True)

    def line(self) -> str:
        """`deleting 120/500 (24%), 12.3/s, elapsed 0:42, ETA 0:31; 118 deleted, 2 failed`."""
        now = self.clock()
        done = sum(self.counts.values())
        elapsed = now - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        left = self.total - self.resumed - done
        eta = f", ETA {_clock(left / rate)}" if rate > 0 and left > 0 else ""
        shown = done + self.resumed
        share = f" ({100 * shown // self.total}%)" if self.total else ""
        parts = ", ".join(f"{n} {name}" for name, n in sorted(self.counts.items()))
        tail = f"; {parts}" if parts else ""
        return (f"{self.phase} {shown}/{self.total}{share}, {rate:.1f}/s, "
                f"elapsed {_clock(elapsed)}{eta}{tail}")

    def _log(self, change: Change, outcome: Outcome) -> None:
        if outcome.result not in DONE:  # what did not go as planned is named, each time
            detail = f"  ({visible(outcome.detail)})" if outcome.detail else ""
            print(f"{outcome.result.value:<8} {visible(change.address)}{detail}",
                  file=self.stream, flush=True)
        now = self.clock()
        if now - self._last_summary >= self.interval:
            self._last_summary = now
            print(f"amlctl: {self.line()}", file=self.stream, flush=True)

    def _json(self, change: Change, outcome: Outcome) -> None:
        line = {  # JSON escapes control characters itself
            "address": change.address,
            "result": outcome.result.value,
            "status": outcome.status,
            "request_id": outcome.request_id,
            "detail": outcome.detail,
        }
        # One write per line: print() writes the newline apart, a second system call each
        # on a write-through stream.
        self.stream.write(_LINE.encode(line) + "\n")
        self.stream.flush()

    def _draw(self, force: bool = False) -> None:
        now = self.clock()
        if not force and now - self._last_draw < 0.1:
            return
        self._last_draw = now
        self.stream.write(f"\r{self.line()}\x1b[K")
        self.stream.flush()


def _clock(seconds: float) -> str:
    """`0:42`, `12:05`, `3:04:10`."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
