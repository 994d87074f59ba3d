"""Every renderer on every golden plan: review the files under golden/ like code."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from render_cases import CASES

from amlctl.render import render

FORMATS = {
    "text.txt": lambda doc: render(doc, "text"),
    "text-color.txt": lambda doc: render(doc, "text", color=True),
    "markdown.md": lambda doc: render(doc, "markdown"),
    "json.json": lambda doc: render(doc, "json"),
}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str, fmt: str, golden: Callable[[str, str], None]) -> None:
    golden(f"{case}/{fmt}", FORMATS[fmt](CASES[case]()))
