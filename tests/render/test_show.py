"""`amlctl show`: render a saved plan; refuse files that are not plans, never stale ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from plan_factories import make_plan, subject_changes

from amlctl.errors import PlanFileError, UsageError
from amlctl.plan import write_plan
from amlctl.render import render
from amlctl.show import show


@pytest.fixture
def plan_file(tmp_path: Path) -> Path:
    path = tmp_path / "plans" / "dsr.plan.json"
    write_plan(make_plan(subject_changes()), path)
    return path


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_show_renders_the_saved_plan(plan_file: Path, fmt: str) -> None:
    doc = json.loads(plan_file.read_text("utf-8"))
    assert show(plan_file, fmt, False) == render(doc, fmt)


def test_show_json_is_the_file_itself(plan_file: Path) -> None:
    assert show(plan_file, "json", None) == plan_file.read_text("utf-8")


def test_show_colours_only_when_told_or_on_a_terminal(plan_file: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    assert "\x1b[" in show(plan_file, "text", True)
    assert "\x1b[" not in show(plan_file, "text", None)  # pytest's stdout is not a terminal


def test_an_old_plan_still_shows(tmp_path: Path) -> None:
    path = tmp_path / "old.plan.json"
    write_plan(make_plan(subject_changes(), created="2020-01-01T00:00:00Z"), path)
    assert "created:    2020-01-01T00:00:00Z" in show(path, "text", False)


def test_a_broken_plan_names_the_file_and_the_json_path(plan_file: Path) -> None:
    doc = json.loads(plan_file.read_text("utf-8"))
    doc["changes"][0]["method"] = "PATCH"
    plan_file.write_text(json.dumps(doc), "utf-8")
    with pytest.raises(PlanFileError) as caught:
        show(plan_file, "markdown", False)
    message = str(caught.value)
    assert message.startswith(f"{plan_file}: not a valid amlctl plan:")
    assert "$.changes[0].method: 'PATCH' is not one of ['GET', 'DELETE', 'POST', None]" in message


def test_an_unknown_format_is_a_usage_error_before_reading(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown format 'html'"):
        show(tmp_path / "missing.json", "html", False)
