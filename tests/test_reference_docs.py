"""docs/manifest-reference.md and docs/catalog-reference.md are made from the schemas and must
match them: a key added to a schema without regenerating the page fails here. Regenerate with
AMLCTL_UPDATE_GOLDEN=1 (as for the other golden files) and review the diff."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from amlctl.reference import PAGES, reference
from amlctl.schemacheck import load_schema

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", sorted(PAGES))
def test_the_reference_page_matches_its_schema(name: str) -> None:
    page = ROOT / PAGES[name]
    made = reference(name)
    if os.environ.get("AMLCTL_UPDATE_GOLDEN"):
        page.write_text(made, encoding="utf-8")
    assert page.read_text(encoding="utf-8") == made, (
        f"{PAGES[name]} is out of date: run AMLCTL_UPDATE_GOLDEN=1 python -m pytest "
        "tests/test_reference_docs.py and review the diff")


def test_every_selector_key_is_documented() -> None:
    page = reference("manifest")
    for key in load_schema("manifest")["$defs"]["selector"]["properties"]:
        assert f"| `{key}` |" in page, key
