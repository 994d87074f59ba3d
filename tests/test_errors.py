"""errors: the one diagnostic type and JSON-path format of manifests, catalogs and plan files."""

from __future__ import annotations

import pytest

from amlctl.errors import NO_PLACE, Diagnostic, JsonPath, format_path


@pytest.mark.parametrize(
    ("where", "shown"),
    [
        ((), "$"),
        (("changes", 3, "action"), "$.changes[3].action"),
        (("delete", "select", 1, "kind"), "$.delete.select[1].kind"),
        (("statuses", "200"), "$.statuses['200']"),
        (("where", "tags.owner", "contains"), "$.where['tags.owner'].contains"),
        (("properties", "odd key"), "$.properties['odd key']"),
        (("été",), "$.été"),
    ],
)
def test_format_path(where: JsonPath, shown: str) -> None:
    assert format_path(where) == shown


def test_a_diagnostic_shows_its_place_or_only_its_file_when_it_has_none() -> None:
    placed = Diagnostic("m.yaml", 3, 7, "$.name", "must not be empty")
    assert str(placed) == "m.yaml:3:7: error: $.name: must not be empty"
    unplaced = Diagnostic("x.plan.json", NO_PLACE, NO_PLACE, "$.digest", "does not match")
    assert str(unplaced) == "x.plan.json: error: $.digest: does not match"
    assert sorted([placed, unplaced, Diagnostic("m.yaml", NO_PLACE, NO_PLACE, "$", "x")]) == [
        Diagnostic("m.yaml", NO_PLACE, NO_PLACE, "$", "x"),
        placed,
        unplaced,
    ]


def test_a_diagnostic_as_json_has_null_line_and_col_without_a_place() -> None:
    assert Diagnostic("m.yaml", 3, 7, "$.name", "empty").to_json() == {
        "file": "m.yaml", "line": 3, "col": 7, "path": "$.name", "message": "empty"
    }
    assert Diagnostic("x.plan.json", NO_PLACE, NO_PLACE, "$", "bad").to_json() == {
        "file": "x.plan.json", "line": None, "col": None, "path": "$", "message": "bad"
    }
