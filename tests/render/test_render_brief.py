"""What apply shows before its prompt: the summary, every delete (up to a limit) and where the
whole plan is; never the whole plan (8,400 lines for a big one)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from plan_factories import bulk_doc

from amlctl.cli import main
from amlctl.plan.reading import StoredChanges
from amlctl.render.text import render_brief

ROOT = Path(__file__).resolve().parents[2]


def test_a_big_plan_shows_its_deletes_not_its_exports() -> None:
    out = render_brief(bulk_doc(10_000), "plans/big.plan.json", limit=300)
    assert "Plan: 5000 to export, 5000 to delete." in out
    assert "Deletes (5000):" in out and "... and 4700 more deletes" in out
    assert out.count("\n  - delete") == 300 and "+ export" not in out
    assert out.rstrip().endswith("The whole plan: amlctl show plans/big.plan.json")
    assert len(out.splitlines()) < 330


def test_a_plan_on_disk_briefs_as_its_document_does_reading_only_its_deletes() -> None:
    doc = bulk_doc(2_000)
    doc["changes"][7]["action"] = "blocked"  # counted, and listed with the deletes
    stored = StoredChanges()
    for change in doc["changes"]:
        stored.append(change)
    stored.seal()
    on_disk = {**doc, "changes": stored.docs()}
    assert render_brief(on_disk, "p.plan.json", limit=50) == render_brief(doc, "p.plan.json",
                                                                         limit=50)
    assert "1 blocked" in render_brief(on_disk, "p.plan.json")


def test_apply_prints_the_brief_before_it_acts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    shutil.copy(ROOT / "plans/examples/dsr-export-erase.yaml", tmp_path / "dsr.yaml")
    assert main(["plan", "dsr.yaml", "--emulator"]) == 0
    capsys.readouterr()
    assert main(["apply", "plans/dsr.plan.json", "--emulator", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "Deletes (12):" in out and "The whole plan: amlctl show plans/dsr.plan.json" in out
    assert "+ export" not in out and "Apply complete" in out
