"""The terminal view: Terraform's summary grammar, colour rules, and ids that try to fake output."""

from __future__ import annotations

import io
import json

import pytest
from plan_factories import delete, make_doc, subject_changes
from render_cases import CASES

from amlctl.errors import UsageError
from amlctl.render import RENDERERS, render, use_color
from amlctl.render.wording import summary_line


def counts(export: int = 0, delete: int = 0, absent: int = 0, unchanged: int = 0,
           manual: int = 0) -> dict[str, int]:
    return {"export": export, "delete": delete, "absent": absent, "unchanged": unchanged,
            "manual": manual}


@pytest.mark.parametrize(("given", "line"), [
    (counts(12, 3, 2, 0, 1), "Plan: 12 to export, 3 to delete, 2 already absent, 1 manual step."),
    (counts(1, 1, 0, 0, 2), "Plan: 1 to export, 1 to delete, 2 manual steps."),
    (counts(unchanged=5), "Plan: 0 to export, 0 to delete, 5 unchanged."),
    (counts(absent=1, unchanged=1), "Plan: 0 to export, 0 to delete, 1 already absent, "
                                    "1 unchanged."),
    (counts(manual=1), "Plan: 0 to export, 0 to delete, 1 manual step."),
    (counts(), "No changes. Nothing to export or delete."),
])
def test_summary_line_grammar(given: dict[str, int], line: str) -> None:
    assert summary_line(given) == line


def test_text_ends_with_the_summary_line() -> None:
    out = render(make_doc(subject_changes()), "text")
    assert out.endswith(
        "\nPlan: 4 to export, 3 to delete, 1 already absent, 1 unchanged, 1 manual step.\n")
    assert "Actions are shown with these symbols:\n  - delete\n  + export (new)\n" in out


def test_an_empty_plan_has_no_legend() -> None:
    out = render(make_doc(), "text")
    assert out.endswith("\n\nNo changes. Nothing to export or delete.\n")
    assert "symbols" not in out


def test_colour_only_when_asked() -> None:
    doc = make_doc([delete("run", "r1")])
    assert "\x1b[" not in render(doc, "text")
    assert "\x1b[31m- delete" in render(doc, "text", color=True)
    assert "\x1b[" not in render(doc, "markdown") + render(doc, "json")


def test_ids_cannot_send_escapes_or_fake_lines() -> None:
    out = render(CASES["hostile"](), "text", color=False)
    assert "\x1b" not in out and "\r" not in out and "\u202e" not in out
    assert "line1\\nline2\\r\\x1b[31mred\\x1b[0m" in out
    assert sum(1 for line in out.splitlines() if line.startswith("  - delete     model")) == 8


def test_long_running_deletes_and_warnings_are_shown() -> None:
    out = render(CASES["teardown"](), "text")
    assert "[long-running]" in out
    assert "Warnings:\n  ! this plan deletes the whole workspace demo-ws" in out


def test_json_is_the_plan_file_text() -> None:
    doc = make_doc(subject_changes())
    out = render(doc, "json")
    assert json.loads(out) == doc
    assert out == json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_renderers_are_picked_by_name() -> None:
    assert sorted(RENDERERS) == ["json", "markdown", "text"]
    with pytest.raises(UsageError, match="unknown format 'yaml': choose one of text, markdown"):
        render(make_doc(), "yaml")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("env", "tty", "expected"), [
    ({}, True, True),
    ({}, False, False),
    ({"NO_COLOR": "1"}, True, False),
    ({"NO_COLOR": ""}, True, True),  # an empty NO_COLOR does not count (no-color.org)
    ({"FORCE_COLOR": "1"}, False, True),
    ({"FORCE_COLOR": "0"}, False, False),
    ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, True, False),
    ({"TERM": "dumb"}, True, False),
    ({"TERM": "dumb", "FORCE_COLOR": "1"}, False, True),
])
def test_use_color(env: dict[str, str], tty: bool, expected: bool) -> None:
    stream = _Tty() if tty else io.StringIO()
    assert use_color(stream, env) is expected


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_a_name_is_shown_only_where_the_id_does_not_hold_it(fmt: str) -> None:
    doc = make_doc([
        delete("model", "churn-model:1", name="churn-model"),
        delete("service", "5f1c2a9e-77d0-4b5e-9c61-0a2b3c4d5e6f", name="churn-svc"),
    ])
    out = render(doc, fmt, color=False)
    assert "churn-model:1" in out and "(churn-model)" not in out
    assert "(churn-svc)" in out
