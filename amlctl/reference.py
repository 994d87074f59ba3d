"""Reference pages made from the shipped JSON Schemas (docs/manifest-reference.md and
docs/catalog-reference.md), so the documentation of every key cannot drift from what
`amlctl validate` accepts: tests/test_reference_docs.py fails when a checked-in page differs.

One section per object of the schema (the root, each nested object, each `$defs` entry), with
a row per key: its type, whether it is required, and the schema's own description.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from amlctl.schemacheck import load_schema

PAGES = {"manifest": "docs/manifest-reference.md", "catalog": "docs/catalog-reference.md"}
_INTRO = {
    "manifest": "What a manifest may say: every key, its type, and what it means. Unknown keys "
    "are errors everywhere.",
    "catalog": "What an endpoint catalog may say (the built-in ones are in amlctl/catalogs/; "
    "pass your own with --catalog PATH or `catalog:` in a manifest).",
}


def reference(name: str) -> str:
    """The Markdown reference page of schemas/<name>.schema.json."""
    schema = load_schema(name)
    lines = [
        f"# {schema.get('title', name)}: reference",
        "",
        f"{_INTRO[name]} Made from `schemas/{name}.schema.json` by `amlctl.reference` "
        f"(`amlctl schema {name}` prints the schema); do not edit by hand.",
        "",
    ]
    for path, node in _objects(schema):
        lines += _section(path, node)
    return "\n".join(lines).rstrip() + "\n"


def _objects(schema: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(title, node) of every object with properties: the root, what nests in it, `$defs`."""
    yield from _nested("(top level)", schema)
    for name, node in schema.get("$defs", {}).items():
        yield from _nested(name, node)


def _nested(path: str, node: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    if "properties" in node:
        yield path, node
    for key, child in node.get("properties", {}).items():
        inner = child.get("items", child)
        if "properties" in inner:
            yield from _nested(_child(path, key), inner)


def _child(path: str, key: str) -> str:
    return key if path == "(top level)" else f"{path}.{key}"


def _anchor(title: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as dashes."""
    kept = "".join(c for c in title.lower() if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")


def _section(path: str, node: Mapping[str, Any]) -> list[str]:
    lines = [f"## `{path}`", ""]
    if node.get("description"):
        lines += [_cell(node["description"]), ""]
    required = set(node.get("required", ()))
    lines += ["| key | type | required | description |", "|---|---|---|---|"]
    for key, child in node["properties"].items():
        if key == "$schema":
            continue
        mark = "yes" if key in required else ""
        kind = _type(child, _child(path, key))
        lines.append(f"| `{key}` | {kind} | {mark} | {_cell(_describe(child))} |")
    return [*lines, ""]


def _type(node: Mapping[str, Any], path: str = "") -> str:
    """The key's type in words, linking to the section of an object it holds."""
    if "$ref" in node:
        ref = node["$ref"]
        if "/properties/" in ref:  # the same as a key of another object: say which
            owner, key = ref.split("/$defs/", 1)[1].split("/properties/")
            return f"as [{owner}](#{_anchor(owner)}).{key}"
        target = ref.rsplit("/", 1)[-1]
        return f"[{target}](#{_anchor(target)})"
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    if "enum" in node:
        return " or ".join(f"`{json.dumps(v)}`" for v in node["enum"])
    kind = node.get("type", "any")
    if kind == "array":
        items = node.get("items", {})
        return f"list of {_type(items, path) if 'properties' not in items else _link(path)}"
    if kind == "object" and "properties" in node:
        return _link(path)
    if kind == "object" and isinstance(node.get("additionalProperties"), dict):
        return f"map of {_type(node['additionalProperties'])}"
    if isinstance(kind, list):
        return " or ".join(kind)
    return str(kind)


def _link(path: str) -> str:
    return f"[object](#{_anchor(path)})"


def _describe(node: Mapping[str, Any]) -> str:
    text = str(node.get("description", ""))
    limits = [f"{word} {shown(node[key])}" for key, word, shown in _LIMITS if key in node]
    return f"{text} ({'; '.join(limits)})" if limits and text else text or "; ".join(limits)


def _code(value: object) -> str:
    return f"`{value}`"


_LIMITS = (
    ("pattern", "pattern", _code),
    ("format", "format", str),
    ("minimum", "at least", str),
    ("minItems", "items at least", str),
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
