"""The shipped JSON Schemas are valid schemas: `load_schema` trusts them rather than checking
each against its metaschema on every run, so this is where that check lives."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from amlctl.schemacheck import SHIPPED_SCHEMAS, load_schema


@pytest.mark.parametrize("name", SHIPPED_SCHEMAS)
def test_shipped_schema_is_valid_against_its_metaschema(name: str) -> None:
    Draft202012Validator.check_schema(load_schema(name))


def test_the_metaschema_check_refuses_a_broken_schema() -> None:
    # The check above can fail: a schema with a wrong keyword type is refused.
    broken = {**load_schema("plan"), "type": 42}
    with pytest.raises(SchemaError):
        Draft202012Validator.check_schema(broken)


def test_every_schema_file_is_a_shipped_schema() -> None:
    from importlib import resources

    files = resources.files("amlctl.schemas").iterdir()
    names = sorted(f.name.removesuffix(".schema.json") for f in files if f.name.endswith(".json"))
    assert names == sorted(SHIPPED_SCHEMAS)
