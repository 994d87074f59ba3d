"""Fixtures the apply tests share: a working folder to plan and apply in, and an emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from apply_helpers import Emulator, emulator


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh folder, made the current one: plans and exports land under it."""
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def emu(tmp_path: Path, work: Path) -> Iterator[Emulator]:
    """A demo-seeded emulator on loopback, over its own database; the test runs in `work`."""
    with emulator(tmp_path / "emu") as running:
        yield running
