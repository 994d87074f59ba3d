"""errors: the one JSON-path format every diagnostic uses (manifests, catalogs, plan files)."""

from __future__ import annotations

import pytest

from amlctl.errors import JsonPath, format_path


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
