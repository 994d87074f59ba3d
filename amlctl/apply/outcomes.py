"""What became of the planned changes of one apply: an outcome per change, and the result of
the whole run, from which the exit code and the receipt's `complete` come."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from amlctl.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_PARTIAL


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


@dataclass
class ApplyResult:
    """Every outcome of one run, against the changes the plan holds for apply."""

    planned: tuple[str, ...] = ()  # addresses of the plan's exports and deletes
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    interrupted: bool = False
    abandoned: int = 0  # requests still in flight when an interrupted run stopped waiting
    unreachable: str | None = None  # the host the run stopped at: no answer, again and again

    def count(self, result: Result) -> int:
        return sum(1 for outcome in self.outcomes.values() if outcome.result is result)

    def result_of(self, address: str) -> Result:
        outcome = self.outcomes.get(address)
        return outcome.result if outcome is not None else Result.NOT_DONE

    @property
    def complete(self) -> bool:
        """Every planned change done: exported, deleted or found already absent. Anything
        skipped, blocked, failed, held back or not reached makes the run incomplete."""
        return not self.interrupted and all(self.result_of(a) in DONE for a in self.planned)

    @property
    def exit_code(self) -> int:
        """130 interrupted, 0 complete, 3 partly applied, 1 when the service was unreachable
        before anything of the plan was done (ARCHITECTURE.md)."""
        if self.interrupted:
            return EXIT_INTERRUPTED
        if self.unreachable and not any(o.result in DONE for o in self.outcomes.values()):
            return EXIT_ERROR
        return EXIT_OK if self.complete else EXIT_PARTIAL
