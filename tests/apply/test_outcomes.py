"""The outcomes of a run (`ApplyResult`): a code per change in memory, the rest on disk, read
back for the receipt as it was noted, however many lines are held back before they are written."""

from __future__ import annotations

from amlctl.apply import outcomes
from amlctl.apply.outcomes import ApplyResult, Outcome, Result


def _outcome(index: int, result: Result = Result.EXPORTED) -> Outcome:
    # A long detail, so that a few thousand outcomes pass the write buffer more than once.
    return Outcome(f"export:ws/run/r{index}", result, 200, f"req-{index}",
                   f"detail {index} " + "x" * 100, {"file": f"ws/run/r{index}.json"})


def test_every_outcome_reads_back_as_noted_across_the_write_buffer() -> None:
    size = 3 * outcomes._BUFFER // 100
    result = ApplyResult(size, planned=size)
    for index in range(size):
        result.note(index, _outcome(index), delete=False)
    result.note(7, _outcome(7, Result.FAILED), delete=False)  # noted again: the last one counts

    assert result.outcome_at(7, "export:ws/run/r7") == _outcome(7, Result.FAILED)
    for index in (0, size // 2, size - 1):
        address = f"export:ws/run/r{index}"
        assert result.outcome_at(index, address) == _outcome(index)
    assert result.count(Result.EXPORTED) == size - 1 and result.count(Result.FAILED) == 1
    result.note(8, _outcome(8, Result.SKIPPED), delete=False)  # after a read: held, then read
    assert result.outcome_at(8, "export:ws/run/r8") == _outcome(8, Result.SKIPPED)


def test_an_outcome_not_noted_reads_back_as_none() -> None:
    result = ApplyResult(3, planned=3)
    result.note(0, _outcome(0), delete=False)
    assert result.outcome_at(1, "export:ws/run/r1") is None
    assert result.outcome_at(0, "export:ws/run/r0") == _outcome(0)
