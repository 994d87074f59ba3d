"""Ctrl-C during apply: the first stops it cleanly (receipt written, how to resume said, exit
130), a second one stops it at once without a traceback; a re-run then finishes the plan."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from apply_helpers import (
    DSR,
    Emulator,
    Planned,
    cli,
    count_events,
    make_plan,
    start_child,
    wait_for_event,
)


def start_apply(planned: Planned, emu: Emulator, output: Path) -> subprocess.Popen[bytes]:
    args = ("apply", str(planned.path), "--endpoint", emu.origin, "--yes", "--parallelism", "2")
    return start_child(*args, output=output)


def ended(process: subprocess.Popen[bytes], within: float) -> int:
    """The exit code, which must come within `within` seconds."""
    try:
        return process.wait(timeout=within)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError(f"apply still ran {within} s after Ctrl-C") from None


def wait_until(check: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(check) and check():
            return
        time.sleep(0.01)
    raise AssertionError("timed out")


def test_the_first_ctrl_c_stops_cleanly_and_a_rerun_finishes(
    tmp_path: Path, emu: Emulator
) -> None:
    planned = make_plan(emu, DSR)
    emu.set_latency(60)
    output = tmp_path / "apply.out"
    process = start_apply(planned, emu, output)
    wait_for_event(planned.journal_path, "export-done", 3, process)

    os.kill(process.pid, signal.SIGINT)

    assert ended(process, within=15) == 130
    text = output.read_text()
    assert "Traceback" not in text
    assert "Apply interrupted:" in text
    assert "Run the same `amlctl apply` again to resume" in text
    receipt = planned.receipt()
    assert receipt["complete"] is False and receipt["summary"]["not-done"] > 0
    assert receipt["summary"]["exported"] >= 3
    done_before = count_events(planned.journal_path, "export-done")

    emu.set_latency(0)
    again = cli("apply", str(planned.path), "--endpoint", emu.origin, "--yes")
    assert again.code == 0, again.text
    assert planned.receipt()["complete"] is True
    # Nothing the interrupted run finished was done again.
    exports = [c["address"] for c in planned.exports]
    journal = planned.journal()
    assert sorted(r["address"] for r in journal if r["event"] == "export-done") == sorted(exports)
    assert done_before <= len(exports)


def test_a_second_ctrl_c_exits_at_once_without_a_traceback(
    tmp_path: Path, emu: Emulator
) -> None:
    planned = make_plan(emu, DSR)
    emu.set_latency(4000)  # every request in flight stays there through the grace period
    output = tmp_path / "apply.out"
    process = start_apply(planned, emu, output)
    wait_until(lambda: count_events(planned.journal_path, "start") == 1)
    time.sleep(0.3)  # the first requests are sent

    os.kill(process.pid, signal.SIGINT)
    time.sleep(0.3)
    os.kill(process.pid, signal.SIGINT)

    assert ended(process, within=3) == 130
    text = output.read_text()
    assert "interrupted again: stopping now" in text
    assert "Traceback" not in text
    emu.set_latency(0)
    emu.settle()
    again = cli("apply", str(planned.path), "--endpoint", emu.origin, "--yes")
    assert again.code == 0, again.text
