"""Fault injection (the fast subset; bench/torture.py runs more seeds): 25% of requests faulted
with every kind the emulator has, 5% answered 429 with a Retry-After. Apply, re-run until done:
complete, byte-identical exports, nothing deleted twice, and no request to a throttled scope
inside its window."""

from __future__ import annotations

from pathlib import Path

from tests.torture.harness import Golden, Setup, fault_trial


def test_faults_and_throttling_end_complete_and_identical(
    soak: tuple[Path, Setup, Golden],
) -> None:
    folder, setup, gold = soak
    trial = fault_trial(folder, setup, gold, 1)
    assert trial.problems == []
    assert trial.exit_codes[-1] == 0
    assert trial.throttled >= 3 and trial.in_window == 0  # 429s came, and were obeyed
