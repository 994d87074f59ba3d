"""`amlctl plan` on a big workspace prints what a reviewer must read, and says where the rest is."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from apply_helpers import DSR, Emulator, cli, copy_manifest

from amlctl.commands import planning


def test_a_big_plan_prints_its_deletes_and_whole_summary_and_names_show(
    work: Path, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764633600")  # the two plans are byte-identical
    manifest = copy_manifest(DSR, work)
    full = cli("plan", manifest.name, "--endpoint", emu.origin, "-o", "full.plan.json")
    assert full.code == 0, full.err
    monkeypatch.setattr(planning, "PRINT_IN_FULL", 3)  # the demo's plans are small

    short = cli("plan", manifest.name, "--endpoint", emu.origin, "-o", "short.plan.json")

    assert short.code == 0, short.err
    assert Path("short.plan.json").read_bytes() == Path("full.plan.json").read_bytes()
    summary = next(line for line in full.out.splitlines() if line.startswith("Plan: "))
    assert summary in short.out.splitlines()  # the whole plan's counts, not the listed ones
    assert _deletes(full.out) and _deletes(short.out) == _deletes(full.out)
    exports = [line for line in full.out.splitlines() if re.match(r"\s+\+ export\s+run", line)]
    assert exports and not re.search(r"\+ export\s+run", short.out)
    assert "amlctl show short.plan.json" in short.out


def _deletes(out: str) -> list[tuple[str, str]]:
    """(kind, id) of each delete line (columns are as wide as what is listed)."""
    return [tuple(line.split()[2:4]) for line in out.splitlines()  # type: ignore[misc]
            if re.match(r"\s+- delete\s+\S+\s+\S+", line)]
