"""The torture suite's shared fixture: one seeded database and its fault-free run per module."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.torture.harness import Golden, Setup, golden, make_seed


@pytest.fixture(scope="module")
def soak(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Setup, Golden]:
    """A small scale seed (12 runs, 6 of each deletable kind more) and its fault-free run."""
    folder = tmp_path_factory.mktemp("soak")
    setup = Setup(make_seed(folder / "seed", runs=12, extra=6), latency_ms=5)
    return folder, setup, golden(folder, setup)
