"""The only module that imports yaml: safe loading with line/column marks for every value.

Manifests and catalogs are small, hand-written and reviewed, so the loader is strict: one
document, UTF-8, at most 1 MiB, no duplicate keys, and aliases may not expand the document past
a node budget (a "billion laughs" file is refused before anything walks it). Timestamps stay
strings so JSON Schema sees what the user wrote.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from amlctl.errors import Diagnostic, format_path
from amlctl.errors import JsonPath as JsonPath  # re-exported: the path type of marks

MAX_BYTES = 1024 * 1024
MAX_NODES = 100_000  # logical nodes after alias expansion
MAX_DEPTH = 64  # nesting: no manifest or catalog comes near; deeper input is an attack or a slip
_SAVE_UTF8 = "save the file as UTF-8"


class _Loader(yaml.SafeLoader):
    """SafeLoader whose implicit timestamps stay strings (dates are validated by the schema)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

# libyaml's parser, where pyyaml was built with it: it composes a catalog about 7x faster than
# the pure-Python one (every plan and apply loads one at start-up), and refuses nesting past
# 1,000 levels itself. Only well-formed files go through it: a file it refuses is parsed again
# by `_Loader`, whose messages (and marks) are the ones users and the golden cases know.
_FastLoader: type[yaml.CSafeLoader] | None = None
if yaml.__with_libyaml__:

    class _CLoader(yaml.CSafeLoader):
        """CSafeLoader with `_Loader`'s resolvers (timestamps stay strings)."""

    _CLoader.yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers
    _FastLoader = _CLoader


@dataclass
class Document:
    """A loaded YAML document: plain data plus the place every value came from."""

    path: str
    data: Any
    marks: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)

    def place(self, where: JsonPath, *, key: bool = False) -> tuple[int, int]:
        """Line and column (1-based) of the value at `where`, or of its nearest ancestor."""
        table = self.key_marks if key else self.marks
        probe = where
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.marks:
                return self.marks[probe]
            probe = probe[:-1]
        return self.marks.get((), (1, 1))

    def diagnostic(self, where: JsonPath, message: str, *, key: bool = False) -> Diagnostic:
        line, col = self.place(where, key=key)
        return Diagnostic(self.path, line, col, format_path(where), message)


class YamlError(Exception):
    """The file is not a loadable YAML document; carries every problem found."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        super().__init__("\n".join(map(str, diagnostics)))


def load_bytes(raw: bytes, name: str) -> Document:
    if len(raw) > MAX_BYTES:
        raise _file_error(name, f"file is {len(raw)} bytes; the limit is {MAX_BYTES} (1 MiB)")
    text = _decode(raw, name)
    try:
        nodes = _compose(text)
    except yaml.MarkedYAMLError as error:
        raise YamlError([_syntax_diagnostic(error, name)]) from None
    except yaml.YAMLError as error:
        raise _file_error(name, f"invalid YAML: {error}") from None
    except RecursionError:  # the parser recurses per nesting level
        raise _file_error(name, f"nested deeper than {MAX_DEPTH} levels") from None
    if len(nodes) > 1:
        message = "more than one YAML document; put one manifest in each file"
        raise _file_error(name, message, *_mark(nodes[1]))
    doc = Document(name, None)
    if nodes and nodes[0] is not None:
        builder = _Builder(doc)
        doc.data = builder.build(nodes[0], ())
        if builder.problems:
            raise YamlError(builder.problems)
    return doc


def _compose(text: str) -> list[yaml.Node]:
    if _FastLoader is not None:
        try:
            return list(yaml.compose_all(text, Loader=_FastLoader))
        except yaml.YAMLError:
            pass  # say why in `_Loader`'s words, below
    return list(yaml.compose_all(text, Loader=_Loader))


def _decode(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = raw[: error.start]
        line = before.count(b"\n") + 1
        col = error.start - (before.rfind(b"\n") + 1) + 1
        message = f"not UTF-8 text (byte 0x{raw[error.start]:02x}); {_SAVE_UTF8}"
        raise _file_error(name, message, line, col) from None


def _file_error(name: str, message: str, line: int = 1, col: int = 1) -> YamlError:
    """A problem with the file as a whole (size, encoding, syntax), at its document root."""
    return YamlError([Diagnostic(name, line, col, "$", message)])


def _syntax_diagnostic(error: yaml.MarkedYAMLError, name: str) -> Diagnostic:
    mark = error.problem_mark or error.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = error.problem or "invalid YAML"
    if "'\\t'" in problem or "\t" in problem:
        return Diagnostic(
            name, line, col, "$", "invalid YAML: a tab cannot indent YAML; use spaces"
        )
    context = f" ({error.context})" if error.context else ""
    return Diagnostic(name, line, col, "$", f"invalid YAML: {problem}{context}")


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    """Turns composed nodes into plain data, recording marks, duplicates and alias expansion."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.problems: list[Diagnostic] = []
        self.nodes_seen = 0
        self.constructor = _Loader("")
        self.open: set[int] = set()  # nodes being built: an alias back to one is a loop

    def build(self, node: yaml.Node, where: JsonPath) -> Any:
        if len(where) > MAX_DEPTH:
            raise YamlError([self._at(node, where, f"nested deeper than {MAX_DEPTH} levels")])
        if id(node) in self.open:
            raise YamlError([self._at(node, where, "a YAML alias refers to itself")])
        self.nodes_seen += 1
        if self.nodes_seen > MAX_NODES:
            raise YamlError(
                [
                    self._at(
                        node,
                        where,
                        "YAML aliases expand this document past "
                        f"{MAX_NODES} values; write it out plainly",
                    )
                ]
            )
        self.doc.marks.setdefault(where, _mark(node))
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, where)
        self.open.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, where)
            return [self.build(item, (*where, i)) for i, item in enumerate(node.value)]
        finally:
            self.open.discard(id(node))

    def _scalar(self, node: yaml.Node, where: JsonPath) -> Any:
        """A plain value; a tag the safe loader does not know (`!!python/name`) or a value it
        cannot hold (an integer of thousands of digits) is a problem at its place."""
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError:
            raise YamlError(
                [self._at(node, where, f"tag {node.tag!r} is not allowed: plain YAML only")]
            ) from None
        except ValueError as error:
            why = "a number of thousands of digits" if "digits" in str(error) else str(error)
            raise YamlError([self._at(node, where, f"cannot read this value: {why}")]) from None

    def _mapping(self, node: yaml.MappingNode, where: JsonPath) -> dict[Any, Any]:
        self.constructor.flatten_mapping(node)  # resolves `<<` merge keys
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self._scalar(key_node, where) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str | int | float | bool) or key is None:
                self.problems.append(
                    self._at(key_node, where, "mapping keys must be plain scalars")
                )
                continue
            key = str(key) if not isinstance(key, str) else key
            if key in out:
                first = self.doc.key_marks[(*where, key)]
                self.problems.append(
                    self._at(
                        key_node, (*where, key), f"duplicate key {key!r} (first at line {first[0]})"
                    )
                )
                continue
            self.doc.key_marks[(*where, key)] = _mark(key_node)
            out[key] = self.build(value_node, (*where, key))
        return out

    def _at(self, node: yaml.Node, where: JsonPath, message: str) -> Diagnostic:
        line, col = _mark(node)
        return Diagnostic(self.doc.path, line, col, format_path(where), message)
