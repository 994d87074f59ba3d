"""JSON Schema validation that reports every problem at its file:line:col and JSON path.

Messages are rewritten for people: an unknown key names itself and what was expected, and for
`anyOf`/`oneOf` the branch the input came closest to is reported, not jsonschema's "is not valid
under any of the given schemas". A schema node may carry `x-message` to say it in its own words.

`load_schema` is the one loader of the shipped schemas (manifest, catalog, plan): plan-file
validation builds its own validators from it, since it reports plans its own way.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from amlctl.errors import Diagnostic, JsonPath
from amlctl.yamlio import Document

SHIPPED_SCHEMAS = ("manifest", "catalog", "plan")


@cache
def load_schema(schema_name: str) -> Mapping[str, Any]:
    """`schemas/<schema_name>.schema.json`, parsed.

    Not checked against its metaschema here: the shipped schemas are package data, checked
    once by the tests (`tests/test_schemas.py`), and the check cost every plan and apply
    110 ms of start-up, a tenth of a millisecond per request at 1,000 requests.
    Cached and shared by every caller: copy it before changing anything in it.
    """
    resource = resources.files("amlctl.schemas").joinpath(f"{schema_name}.schema.json")
    schema: dict[str, Any] = json.loads(resource.read_text("utf-8"))
    return schema


@cache
def validator(schema_name: str) -> Draft202012Validator:
    """The validator for `schemas/<schema_name>.schema.json`, with format checking on."""
    return Draft202012Validator(
        load_schema(schema_name), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def check(doc: Document, schema_name: str) -> list[Diagnostic]:
    """Every schema violation in `doc`, each pointing at its place."""
    found: list[Diagnostic] = []
    for error in validator(schema_name).iter_errors(doc.data):
        for leaf in _leaves(error):
            found.append(_diagnostic(doc, leaf))
    return sorted(set(found))


def _leaves(error: ValidationError) -> list[ValidationError]:
    """Replace an anyOf/oneOf failure by the errors of the branch the input came closest to."""
    if error.validator not in ("anyOf", "oneOf") or not error.context:
        return [error]
    if _custom_message(error):
        return [error]
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.schema_path[0], []).append(sub)

    def closeness(errors: list[ValidationError]) -> tuple[int, int]:
        deepest = max(len(sub.relative_path) for sub in errors)
        wrong_type = any(sub.validator == "type" and not sub.relative_path for sub in errors)
        return (deepest - (100 if wrong_type else 0), -len(errors))

    best = max(branches.values(), key=closeness)
    if closeness(best)[0] <= 0 and all(not sub.relative_path for sub in best):
        return [error]  # no branch got anywhere: the generic message is the honest one
    return [leaf for sub in best for leaf in _leaves(sub)]


def _custom_message(error: ValidationError) -> str | None:
    """The schema's own words (`x-message` beside it) for a failed anyOf/oneOf/pattern/format."""
    if error.validator in ("anyOf", "oneOf", "pattern", "format") and isinstance(
        error.schema, dict
    ):
        message = error.schema.get("x-message")
        return str(message) if message else None
    return None


def _diagnostic(doc: Document, error: ValidationError) -> Diagnostic:
    where: JsonPath = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    custom = _custom_message(error)
    if custom and error.validator in ("pattern", "format"):
        return doc.diagnostic(where, f"{error.instance!r}: {custom}")
    if custom:
        return doc.diagnostic(where, custom)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        return _unknown_keys(doc, where, error.instance, schema)
    if "propertyNames" in error.schema_path and isinstance(error.instance, str):
        # jsonschema reports a bad key at its mapping; point at the key itself
        return doc.diagnostic((*where, error.instance), f"key {_message(error)}", key=True)
    return doc.diagnostic(where, _message(error))


def _unknown_keys(
    doc: Document, where: JsonPath, instance: dict[str, Any], schema: dict[str, Any]
) -> Diagnostic:
    known = sorted(schema.get("properties", {}))
    extra = sorted(key for key in instance if key not in known)
    key = extra[0] if extra else ""
    close = difflib.get_close_matches(key, [k for k in known if k not in instance], 1, 0.8)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    expected = f"; expected one of: {', '.join(known)}" if known else ""
    others = f" (and {', '.join(map(repr, extra[1:]))})" if len(extra) > 1 else ""
    return doc.diagnostic((*where, key), f"unknown key {key!r}{hint}{others}{expected}", key=True)


def _message(error: ValidationError) -> str:
    value: Any = error.validator_value
    schema: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
    match error.validator:
        case "required":
            missing = error.message.split("'")[1] if "'" in error.message else error.message
            return f"missing required key {missing!r}"
        case "enum":
            return f"{error.instance!r} is not one of: {', '.join(map(str, value))}"
        case "const":
            shown = json.dumps(value)
            if isinstance(error.instance, str | int | float | bool) or error.instance is None:
                return f"must be {shown}, not {json.dumps(error.instance)}"
            return f"must be {shown}"
        case "type":
            return f"expected {_type_name(value)}, got {_type_name(_json_type(error.instance))}"
        case "pattern":
            return f"{error.instance!r} does not match the pattern {value}"
        case "format":
            return f"{error.instance!r} is not a valid {value}{_format_hint(error)}"
        case "minItems":
            return "must not be empty" if value == 1 else f"needs at least {value} items"
        case "maxProperties":
            names = ", ".join(sorted(schema.get("properties", {})))
            given: list[str] = list(error.instance) if isinstance(error.instance, dict) else []
            return f"takes exactly one of: {names}; found {len(given)}: {', '.join(given)}"
        case "minProperties":
            return "must not be empty"
        case "minimum":
            return f"must be at least {value}"
        case "minLength":
            return "must not be empty" if value == 1 else f"needs at least {value} characters"
    return error.message


_FORMAT_HINTS = {
    "date": " (write YYYY-MM-DD, a real calendar day)",
    "uuid": " (32 hex digits as 8-4-4-4-12, e.g. 8b0c2f4e-0000-4000-8000-000000000042)",
}


def _format_hint(error: ValidationError) -> str:
    """How to write a value of this format; for a regex, why Python's `re` refused it."""
    if error.validator_value == "regex" and error.cause is not None:
        return f" ({error.cause})"
    return _FORMAT_HINTS.get(str(error.validator_value), "")


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number" if isinstance(value, float) else "integer"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _type_name(value: object) -> str:
    names = {
        "object": "a mapping",
        "array": "a list",
        "string": "a string",
        "integer": "an integer",
        "number": "a number",
        "boolean": "true or false",
        "null": "nothing (null)",
    }
    if isinstance(value, list):
        parts = [names.get(str(v), str(v)).replace("true or false", "true/false") for v in value]
        return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} or {parts[-1]}"
    return names.get(str(value), str(value))
