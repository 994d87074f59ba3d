"""Canonical JSON and the hashes taken over it (plan digests, item fingerprints), and the
pretty JSON of every file amlctl writes (plans, export files, the export index, receipts).

A neutral module: the inventory fingerprints items, the plan file is digested, and apply
compares both, so none of them owns these functions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeGuard, overload

_CHUNK = 1 << 20  # characters per piece of pretty_json_chunks


def canonical_json(value: object) -> bytes:
    """The canonical JSON bytes the digest and fingerprints are computed over."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def pretty_json(value: object, *, allow_nan: bool = False) -> bytes:
    """The bytes of a JSON file: indent 2, sorted keys, UTF-8 characters kept, trailing newline.

    Stable bytes for stable hashes. NaN and infinities are refused unless `allow_nan` (export
    files keep whatever the service sent, as Python's json wrote it).
    """
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=allow_nan)
    return (text + "\n").encode("utf-8")


def pretty_json_chunks(value: object, *, allow_nan: bool = False) -> Iterator[bytes]:
    """`pretty_json(value)` in pieces of about a MiB, the same bytes: a big document (a plan of
    a whole workspace) is written without its whole text in memory at once, let alone twice.
    Its top two levels may hold `Made` sequences (a plan's changes, each made as it is written),
    so the document itself need not be held whole either."""
    encoder = json.JSONEncoder(indent=2, sort_keys=True, ensure_ascii=False, allow_nan=allow_nan)
    pieces: list[str] = []
    size = 0
    for piece in _pretty_pieces(value, encoder, depth=2, level=0):
        pieces.append(piece)
        size += len(piece)
        if size >= _CHUNK:
            yield "".join(pieces).encode("utf-8")
            pieces, size = [], 0
    pieces.append("\n")
    yield "".join(pieces).encode("utf-8")


def _pretty_pieces(
    value: object, encoder: json.JSONEncoder, depth: int, level: int
) -> Iterator[str]:
    """What `encoder` (indent 2) writes for `value` at nesting `level`, objects and arrays
    `depth` levels down opened here. Every newline the encoder writes is layout (strings escape
    theirs), so a value nested `level` deep is its own text with each newline indented more."""
    inner = "\n" + "  " * (level + 1)
    if depth and _is_object(value) and value:
        for number, key in enumerate(sorted(value)):
            yield ("," if number else "{") + inner + encoder.encode(key) + ": "
            yield from _pretty_pieces(value[key], encoder, depth - 1, level + 1)
        yield "\n" + "  " * level + "}"
    elif depth and _is_array(value) and len(value):
        for number, item in enumerate(value):
            yield ("," if number else "[") + inner
            yield from _pretty_pieces(item, encoder, depth - 1, level + 1)
        yield "\n" + "  " * level + "]"
    else:
        indent = "\n" + "  " * level
        for piece in encoder.iterencode(list(value) if isinstance(value, Made) else value):
            yield piece.replace("\n", indent) if level else piece


class Made(Sequence[Any]):
    """`make(item)` of each item of `source`, made when it is read and not kept: a big list of
    documents (a plan's changes) that exists one document at a time. `_canonical_pieces` and
    `pretty_json_chunks` write it as an array."""

    __slots__ = ("_make", "_source")

    def __init__(self, source: Sequence[Any], make: Callable[[Any], Any]) -> None:
        self._source, self._make = source, make

    def __len__(self) -> int:
        return len(self._source)

    @overload
    def __getitem__(self, index: int) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self._make(item) for item in self._source[index]]
        return self._make(self._source[index])

    def __iter__(self) -> Iterator[Any]:
        return map(self._make, self._source)


def _is_object(value: object) -> TypeGuard[Mapping[str, Any]]:
    return isinstance(value, Mapping) and all(isinstance(key, str) for key in value)


def _is_array(value: object) -> TypeGuard[list[Any] | tuple[Any, ...] | Made]:
    return isinstance(value, list | tuple | Made)


def compute_digest(doc: Mapping[str, Any]) -> str:
    """`sha256:<hex>` over the canonical JSON of `doc` without its `digest` key.

    Hashed piece by piece (each change of a plan on its own), never as one text of the
    whole document: the bytes hashed are exactly `canonical_json` of it."""
    body = {key: value for key, value in doc.items() if key != "digest"}
    digest = hashlib.sha256()
    for piece in _canonical_pieces(body, depth=2):
        digest.update(piece)
    return "sha256:" + digest.hexdigest()


def _canonical_pieces(value: object, depth: int) -> Iterator[bytes]:
    """`canonical_json(value)` in pieces: objects and arrays `depth` levels down are opened
    here (keys sorted, as `sort_keys` does), everything below by `canonical_json` whole."""
    if depth and _is_object(value):
        yield b"{"
        for number, key in enumerate(sorted(value)):
            yield (b"," if number else b"") + canonical_json(key) + b":"
            yield from _canonical_pieces(value[key], depth - 1)
        yield b"}"
    elif depth and _is_array(value):
        yield b"["
        for number, item in enumerate(value):
            if number:
                yield b","
            yield from _canonical_pieces(item, depth - 1)
        yield b"]"
    else:
        yield canonical_json(list(value) if isinstance(value, Made) else value)


def dotted(data: Mapping[str, Any], path: str) -> Any:
    """The value at a dot path (`createdBy.userName`), or None where the path runs out."""
    return _walk(data, path)[1]


def has(data: Mapping[str, Any], path: str) -> bool:
    """Whether `data` holds the dot path at all (a null value counts; a missing key does not)."""
    return _walk(data, path)[0]


def _walk(data: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return False, None
        value = value[part]
    return True, value


def fingerprint(item: object, etag: str | None = None) -> str:
    """What an item looked like at plan time: `etag:<v>`, else `sha256:` of its canonical JSON."""
    if etag:
        return f"etag:{etag}"
    return "sha256:" + hashlib.sha256(canonical_json(item)).hexdigest()
