"""Apply's progress: phase, done/total, rate, elapsed and ETA; in a CI log a summary line now
and then plus the items that went wrong, never a line per item; a resume counts what an earlier
run finished once and does not announce it again."""

from __future__ import annotations

import io
import json

from amlctl.apply.outcomes import Outcome, Result
from amlctl.apply.progress import Progress
from amlctl.plan.model import Action, Change


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _change(i: int, action: Action = Action.EXPORT) -> Change:
    return Change(workspace="ws", kind="run", id=f"r{i}", action=action)


def test_a_ci_log_gets_periodic_summaries_not_a_line_per_item() -> None:
    out, clock = io.StringIO(), Clock()
    progress = Progress(100, out, live=False, interval=10, clock=clock)
    for i in range(100):
        clock.now += 0.5  # 2 items a second: 50 s in all
        change = _change(i, Action.EXPORT if i < 60 else Action.DELETE)
        result = Result.FAILED if i == 70 else (Result.EXPORTED if i < 60 else Result.DELETED)
        progress(change, Outcome(change.address, result, detail="HTTP 500"))
    progress.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 7, lines  # five summaries, the failure, the last line
    assert lines[0] == ("amlctl: exporting 20/100 (20%), 2.0/s, elapsed 0:10, ETA 0:40; "
                        "20 exported")
    assert any(line.startswith("failed   ") and "HTTP 500" in line for line in lines)
    assert lines[-1] == ("amlctl: done 100/100 (100%), 2.0/s, elapsed 0:50; 39 deleted, "
                         "60 exported, 1 failed")


def test_a_resume_does_not_announce_finished_items_again() -> None:
    out, clock = io.StringIO(), Clock()
    finished = [_change(i).address for i in range(8)]
    progress = Progress(10, out, live=False, finished=finished, clock=clock)
    for i in range(10):
        clock.now += 1
        progress(_change(i), Outcome(_change(i).address, Result.EXPORTED))
    progress.close()
    text = out.getvalue()
    assert text.startswith("Resuming: 8 of 10 items were done by an earlier run")
    assert "r0" not in text and text.rstrip().endswith("done 10/10 (100%), 0.2/s, elapsed 0:10;"
                                                       " 2 exported")


def test_a_terminal_line_is_redrawn_in_place_with_an_eta() -> None:
    out, clock = io.StringIO(), Clock()
    progress = Progress(4, out, live=True, clock=clock)
    clock.now += 2
    progress(_change(0, Action.DELETE), Outcome("a", Result.DELETED))
    assert out.getvalue() == "\rdeleting 1/4 (25%), 0.5/s, elapsed 0:02, ETA 0:06; 1 deleted\x1b[K"


def test_json_keeps_one_object_per_item() -> None:
    out = io.StringIO()
    progress = Progress(2, out, live=False, fmt="json", finished=[_change(0).address])
    progress(_change(0), Outcome(_change(0).address, Result.EXPORTED))
    progress(_change(1), Outcome(_change(1).address, Result.EXPORTED))
    progress.close()
    assert len(out.getvalue().splitlines()) == 2


class _Writes(io.StringIO):
    """A stream that counts its write calls: each is a system call on a real stdout."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def write(self, text: str) -> int:
        self.calls += 1
        return super().write(text)


def test_json_writes_each_line_in_one_call() -> None:
    out = _Writes()
    progress = Progress(2, out, live=False, fmt="json")
    progress(_change(0), Outcome(_change(0).address, Result.EXPORTED))
    progress(_change(1), Outcome(_change(1).address, Result.EXPORTED))
    assert out.calls == 2
    assert [json.loads(line)["result"] for line in out.getvalue().splitlines()] == [
        "exported", "exported"
    ]
