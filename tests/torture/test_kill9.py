"""A few kill -9 trials of the torture soak (bench/torture.py runs hundreds): a mixed
export+delete plan on a scale seed, killed at a random moment or once deletes go out, re-run
until done, and compared with a fault-free run."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.torture.harness import Golden, Setup, kill_trial


@pytest.mark.parametrize(("number", "aim"), [(1, "any"), (2, "delete"), (3, "delete")])
def test_killed_and_rerun_until_done_loses_nothing_and_deletes_nothing_twice(
    soak: tuple[Path, Setup, Golden], number: int, aim: str
) -> None:
    folder, setup, gold = soak
    assert gold.files and gold.deletes >= 5  # a plan worth killing
    trial = kill_trial(folder, setup, gold, number, random.Random(number), aim)
    assert trial.problems == []
    assert trial.exit_codes[-1] == 0 and trial.deletes_sent >= gold.deletes
