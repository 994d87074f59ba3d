"""What became of the planned changes of one apply: an outcome per change, and the result of
the whole run, from which the exit code and the receipt's `complete` come."""

from __future__ import annotations

import enum
import json
import os
import weakref
from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from amlctl.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_PARTIAL
from amlctl.fsio import read_line_at
from amlctl.plan.reading import temp_file_error, unnamed_file


class Result(enum.Enum):
    """What became of one planned change. The values are the receipt's and journal's words."""

    EXPORTED = "exported"
    DELETED = "deleted"
    ABSENT = "absent"  # the delete target was already gone
    SKIPPED = "skipped"  # changed or gone since the plan: a new plan decides
    BLOCKED = "blocked"  # the service refused: still in use
    FAILED = "failed"  # a re-run retries it
    NOT_DONE = "not-done"  # never attempted: interrupted, or held back by what it waits on


DONE = frozenset({Result.EXPORTED, Result.DELETED, Result.ABSENT})


@dataclass(frozen=True)
class Outcome:
    """What happened to one change; the receipt and the progress display read these."""

    address: str
    result: Result
    status: int | None = None
    request_id: str | None = None
    detail: str = ""
    record: dict[str, Any] = field(default_factory=dict)  # export file, hashes


class ApplyResult:
    """Every outcome of one run, by the index of its change in the plan, in flat memory: a
    result code per change, and the rest of each outcome (status, request id, detail, export
    record) as a JSON line in an unnamed temp file, read back for the receipt. The results of
    deletes are also kept by address: a delete `after` others asks for theirs."""

    def __init__(self, size: int, planned: int) -> None:
        self.planned = planned  # how many of the plan's changes apply acts on or refuses
        self.interrupted = False
        self.abandoned = 0  # requests still in flight when an interrupted run stopped waiting
        self.unreachable: str | None = None  # the host the run stopped at: no answer, again
        self._results = array("b", [-1]) * size  # _CODES of each change's result; -1: none
        self._lines = array("q", [-1]) * size  # offset of its line in _fd
        self._counts: Counter[Result] = Counter()
        self._deletes: dict[str, Result] = {}
        self._fd = unnamed_file("the outcomes of this run")
        self.close = weakref.finalize(self, os.close, self._fd)
        self._end = 0
        # Lines not written yet, from `_written` on: a write per line was a system call, and a
        # wait for the GIL after it, on the thread that hands every item out.
        self._pending: list[bytes] = []
        self._written = 0

    def note(self, index: int, outcome: Outcome, *, delete: bool) -> None:
        """Record what became of change `index` (not thread-safe: the executor's lock)."""
        previous = self._results[index]
        if previous >= 0:
            self._counts[_RESULTS[previous]] -= 1
        self._results[index] = _CODES[outcome.result]
        self._counts[outcome.result] += 1
        if delete:
            self._deletes[outcome.address] = outcome.result
        line = _LINE.encode(
            [outcome.status, outcome.request_id, outcome.detail, outcome.record]
        ).encode("utf-8") + b"\n"
        self._pending.append(line)
        self._lines[index] = self._end
        self._end += len(line)
        if self._end - self._written >= _BUFFER:
            self._write_pending()

    def _write_pending(self) -> None:
        data = b"".join(self._pending)
        self._pending = []
        try:
            _write_at(self._fd, data, self._written)
        except OSError as error:
            raise temp_file_error("the outcomes of this run", error) from None
        self._written += len(data)

    def outcome_at(self, index: int, address: str) -> Outcome | None:
        """The outcome of change `index` (whose address is `address`), or None."""
        code, offset = self._results[index], self._lines[index]
        if code < 0:
            return None
        if self._pending:
            self._write_pending()
        status, request_id, detail, record = json.loads(read_line_at(self._fd, offset))
        return Outcome(address, _RESULTS[code], status, request_id, detail, record)

    def result_at(self, index: int) -> Result:
        code = self._results[index]
        return _RESULTS[code] if code >= 0 else Result.NOT_DONE

    def count(self, result: Result) -> int:
        return self._counts[result]

    def result_of(self, address: str) -> Result:
        """The result of the delete at `address` (NOT_DONE until it has one)."""
        return self._deletes.get(address, Result.NOT_DONE)

    @property
    def complete(self) -> bool:
        """Every planned change done: exported, deleted or found already absent. Anything
        skipped, blocked, failed, held back or not reached makes the run incomplete."""
        done = sum(self._counts[result] for result in DONE)
        return not self.interrupted and done == self.planned

    @property
    def exit_code(self) -> int:
        """130 interrupted, 0 complete, 3 partly applied, 1 when the service was unreachable
        before anything of the plan was done (ARCHITECTURE.md)."""
        if self.interrupted:
            return EXIT_INTERRUPTED
        if self.unreachable and not any(self._counts[result] for result in DONE):
            return EXIT_ERROR
        return EXIT_OK if self.complete else EXIT_PARTIAL


_RESULTS = tuple(Result)
_BUFFER = 1 << 16  # bytes of outcome lines held before they are written
_LINE = json.JSONEncoder(separators=(",", ":"))  # one for all calls: dumps builds one each
_CODES = {result: code for code, result in enumerate(_RESULTS)}


def _write_at(fd: int, data: bytes, offset: int) -> None:
    while data:
        written = os.pwrite(fd, data, offset)
        data, offset = data[written:], offset + written
