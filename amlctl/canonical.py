"""Canonical JSON and the hashes taken over it (plan digests, item fingerprints), and the
pretty JSON of every file amlctl writes (plans, export files, the export index, receipts).

A neutral module: the inventory fingerprints items, the plan file is digested, and apply
compares both, so none of them owns these functions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeGuard, overload

# Characters per piece of pretty_json_chunks: a piece is held three times over as it is made
# (its parts, their text, its bytes), at the peak of a big plan's memory (the changes made,
# the plan file being written); 256 KiB kept that peak 1.8 MiB lower than a MiB did.
_CHUNK = 1 << 18


# json.dumps with options makes an encoder per call, a third of the time of a small document
# (a plan's change, an item's fingerprint); an encoder keeps no state between calls.
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical_json(value: object) -> bytes:
    """The canonical JSON bytes the digest and fingerprints are computed over."""
    return _CANONICAL.encode(value).encode("utf-8")


def pretty_json(value: object, *, allow_nan: bool = False) -> bytes:
    """The bytes of a JSON file: indent 2, sorted keys, UTF-8 characters kept, trailing newline.

    Stable bytes for stable hashes. NaN and infinities are refused unless `allow_nan` (export
    files keep whatever the service sent, as Python's json wrote it).
    """
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=allow_nan)
    return (text + "\n").encode("utf-8")


def pretty_json_chunks(value: object, *, allow_nan: bool = False) -> Iterator[bytes]:
    """`pretty_json(value)` in pieces of about 256 KiB, the same bytes: a big document (a plan of
    a whole workspace) is written without its whole text in memory at once, let alone twice.
    Its top two levels may hold `Made` sequences (a plan's changes, each made as it is written),
    so the document itself need not be held whole either."""
    layout = _Layout(allow_nan)
    pieces: list[str] = []
    size = 0
    for piece in _pretty_pieces(value, layout, depth=2, level=0):
        pieces.append(piece)
        size += len(piece)
        if size >= _CHUNK:
            yield "".join(pieces).encode("utf-8")
            pieces, size = [], 0
    pieces.append("\n")
    yield "".join(pieces).encode("utf-8")


def _pretty_pieces(value: object, layout: _Layout, depth: int, level: int) -> Iterator[str]:
    """What json.dumps (indent 2, sorted keys) writes for `value` at nesting `level`, objects
    and arrays `depth` levels down opened here, one piece each, so a `Made` is read one item
    at a time."""
    if depth and _is_object(value) and value:
        inner = "\n" + "  " * (level + 1)
        for number, key in enumerate(sorted(value)):
            yield ("," if number else "{") + inner + layout.key(key) + ": "
            yield from _pretty_pieces(value[key], layout, depth - 1, level + 1)
        yield "\n" + "  " * level + "}"
    elif depth and _is_array(value) and len(value):
        inner = "\n" + "  " * (level + 1)
        for number, item in enumerate(value):
            yield ("," if number else "[") + inner
            yield from _pretty_pieces(item, layout, depth - 1, level + 1)
        yield "\n" + "  " * level + "]"
    else:
        pieces: list[str] = []
        layout.write(pieces, list(value) if isinstance(value, Made) else value, level)
        yield "".join(pieces)


class _Layout:
    """json.dumps(indent=2, sort_keys=True, ensure_ascii=False) text, made fast. Python's json
    writes indented text in pure Python, a generator call per value (the bulk of a big plan's
    CPU); its C encoder writes compact text only. But a compact encoder whose item separator
    is a comma, a newline and the indent lays out a container with no non-empty container
    inside exactly as the indented encoder does, once its brackets get their newlines: so each
    such container (a plan's change) is one C call, and only the ones above it are walked here.
    Anything else (keys that are not strings) is left to the pure encoder, re-indented."""

    __slots__ = ("_allow_nan", "_flat", "_pure")

    def __init__(self, allow_nan: bool) -> None:
        self._allow_nan = allow_nan
        self._flat: dict[int, json.JSONEncoder] = {}  # by nesting level
        self._pure = json.JSONEncoder(
            indent=2, sort_keys=True, ensure_ascii=False, allow_nan=allow_nan
        )

    def key(self, key: str) -> str:
        return self._pure.encode(key)

    def write(self, out: list[str], value: object, level: int) -> None:
        """Append the text of `value` nested `level` deep to `out`."""
        if isinstance(value, dict):
            if value and not all(isinstance(key, str) for key in value):
                self._write_pure(out, value, level)
            elif _holds_nonempty_container(value.values()):
                inner = "\n" + "  " * (level + 1)
                for number, key in enumerate(sorted(value)):
                    out.append(("," if number else "{") + inner + self.key(key) + ": ")
                    self.write(out, value[key], level + 1)
                out.append("\n" + "  " * level + "}")
            else:
                self._write_flat(out, value, level)
        elif isinstance(value, list | tuple) and _holds_nonempty_container(value):
            inner = "\n" + "  " * (level + 1)
            for number, item in enumerate(value):
                out.append(("," if number else "[") + inner)
                self.write(out, item, level + 1)
            out.append("\n" + "  " * level + "]")
        else:
            self._write_flat(out, value, level)

    def _write_flat(self, out: list[str], value: object, level: int) -> None:
        """A scalar, or a container of scalars and empty containers: one C call."""
        try:
            text = self._flat_encoder(level).encode(value)
        except ValueError:  # NaN refused: with the pure encoder's words
            self._write_pure(out, value, level)
            return
        if isinstance(value, dict | list | tuple) and value:
            out.append(text[0] + "\n" + "  " * (level + 1) + text[1:-1])
            out.append("\n" + "  " * level + text[-1])
        else:
            out.append(text)

    def _flat_encoder(self, level: int) -> json.JSONEncoder:
        encoder = self._flat.get(level)
        if encoder is None:
            separator = ",\n" + "  " * (level + 1)
            encoder = json.JSONEncoder(
                separators=(separator, ": "),
                sort_keys=True,
                ensure_ascii=False,
                allow_nan=self._allow_nan,
            )
            self._flat[level] = encoder
        return encoder

    def _write_pure(self, out: list[str], value: object, level: int) -> None:
        # Every newline the encoder writes is layout (strings escape theirs).
        out.append(self._pure.encode(value).replace("\n", "\n" + "  " * level))


_CONTAINERS = (dict, list, tuple)


def _holds_nonempty_container(values: Iterable[object]) -> bool:
    # Inline, with a tuple of types (a union type checks slower): it runs for every value of
    # every change of a big plan.
    return any(isinstance(value, _CONTAINERS) and value for value in values)


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


class DigestStream:
    """`compute_digest(doc)` of a document whose array at `key` is given an element at a time
    (`add`), as it is read or written, then `digest()`: the same bytes hashed, and the array
    never held whole nor read a second time. Raises what canonical_json raises."""

    __slots__ = ("_count", "_hash", "_rest")

    def __init__(self, doc: Mapping[str, Any], key: str) -> None:
        body = {name: value for name, value in doc.items() if name != "digest"}
        names = sorted(body)
        at = names.index(key)
        self._hash = hashlib.sha256(b"{")
        for number, name in enumerate(names[:at]):
            self._hash.update(_member(number, name, body[name]))
        self._hash.update((b"," if at else b"") + canonical_json(key) + b":[")
        self._rest = [(name, body[name]) for name in names[at + 1 :]]
        self._count = 0

    def add(self, item: object) -> None:
        self._hash.update((b"," if self._count else b"") + canonical_json(item))
        self._count += 1

    def digest(self) -> str:
        """`sha256:<hex>`, once every element was added."""
        self._hash.update(b"]")
        for name, value in self._rest:
            self._hash.update(_member(1, name, value))
        self._hash.update(b"}")
        return "sha256:" + self._hash.hexdigest()


def _member(number: int, name: str, value: object) -> bytes:
    # What _canonical_pieces gives for one member of an object: the same bytes as
    # canonical_json of the whole, a top-level `Made` read as the array it stands for.
    text = canonical_json(list(value) if isinstance(value, Made) else value)
    return (b"," if number else b"") + canonical_json(name) + b":" + text


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


def lookup(data: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    """Whether `data` holds the dot path (a null value counts), and its value (None if not)."""
    return _walk(data, path)


def dotted(data: Mapping[str, Any], path: str) -> Any:
    """The value at a dot path (`createdBy.userName`), or None where the path runs out."""
    return _walk(data, path)[1]


def has(data: Mapping[str, Any], path: str) -> bool:
    """Whether `data` holds the dot path at all (a null value counts; a missing key does not)."""
    return _walk(data, path)[0]


def _walk(data: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    value: Any = data
    for part in path.split("."):
        if not is_mapping(value) or part not in value:
            return False, None
        value = value[part]
    return True, value


def is_mapping(value: object) -> bool:
    """isinstance(value, Mapping), fast for what JSON gives: an ABC check costs a microsecond,
    and the inventory asks it for every field of every item it reads."""
    kind = type(value)
    return kind is dict or (kind not in _PLAIN and isinstance(value, Mapping))


_PLAIN = frozenset({str, int, float, bool, list, type(None)})  # JSON's values that are no Mapping


def fingerprint(item: object, etag: str | None = None) -> str:
    """What an item looked like at plan time: `etag:<v>`, else `sha256:` of its canonical JSON."""
    if etag:
        return f"etag:{etag}"
    return "sha256:" + hashlib.sha256(canonical_json(item)).hexdigest()


_SHA256 = "sha256:"


def compact_fingerprint(fingerprint: str) -> str | bytes:
    """A fingerprint as held by the many (an inventory's items, an export index's entries): a
    `sha256:<64 hex>` one as its 32-byte digest (65 bytes of heap, not 120), any other (an
    etag's) as it is. `full_fingerprint` gives the string back, the same one."""
    if len(fingerprint) == 71 and fingerprint.startswith(_SHA256):
        try:
            digest = bytes.fromhex(fingerprint[7:])
        except ValueError:
            return fingerprint
        if digest.hex() == fingerprint[7:]:  # lower-case hex only: it must read back as it was
            return digest
    return fingerprint


def full_fingerprint(held: str | bytes) -> str:
    """The fingerprint `compact_fingerprint` was given."""
    return held if isinstance(held, str) else _SHA256 + held.hex()
