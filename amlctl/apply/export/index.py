"""The export folder's index: one entry per exported file, written by apply, read by plan.

Plan reads it to tell new exports from changed ones and from ones already current. The file is
`<export folder>/index.json`: {"format_version": "1.0", "items": {address: entry}} where an
entry holds at least `file`, `fingerprint` (of the item as exported), `sha256`, `size`,
`source_url`, `request_id` and `exported_at`.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from amlctl.canonical import compact_fingerprint, full_fingerprint
from amlctl.errors import PlanFileError
from amlctl.jsonstream import JsonText, NotStreamable

INDEX_NAME = "index.json"
FORMAT_VERSION = "1.0"


def index_path(export_to: str) -> Path:
    return Path(export_to) / INDEX_NAME


def read_entries(export_to: str | None) -> dict[str, dict[str, Any]]:
    """Entries by address; empty when nothing was exported there yet. The whole index in
    memory (about 1.3 KB an entry): for a few entries, or a package of them."""
    return dict(iter_entries(export_to))


def entries_for(
    export_to: str | None, addresses: Collection[str]
) -> dict[str, dict[str, Any]]:
    """The entries of `addresses` only (a plan's), read as a stream: an index of the whole
    workspace's exports is not held for the few a plan is about."""
    return {a: entry for a, entry in iter_entries(export_to) if a in addresses}


def iter_entries(export_to: str | None) -> Iterator[tuple[str, dict[str, Any]]]:
    """(address, entry) of each entry, read from the file as a stream: memory holds one entry
    at a time, whatever the size of the index. A file the stream reader cannot follow is read
    whole (for its error, which names the place); an address may then come twice, the second
    time with the same entry, so collect them by address."""
    if export_to is None:
        return
    path = index_path(export_to)
    try:
        stream = path.open("rb")
    except FileNotFoundError:
        return
    except OSError as error:
        raise _unreadable(path, error) from None
    with stream:
        try:
            yield from _streamed(path, JsonText(stream))
            return
        except NotStreamable:
            pass
        except (OSError, ValueError) as error:
            raise _unreadable(path, error) from None
    yield from _read_whole(path).items()


def _streamed(path: Path, text: JsonText) -> Iterator[tuple[str, dict[str, Any]]]:
    """The entries of {"format_version": "1.x", "items": {address: entry}}, in file order."""
    text.expect("{")
    seen: set[str] = set()
    if text.peek() != "}":
        while True:
            key = text.value()
            if not isinstance(key, str) or key in seen:
                raise NotStreamable
            seen.add(key)
            text.expect(":")
            if key == "items":
                if text.peek() != "{":
                    raise NotStreamable  # the whole-file reader says what it is
                yield from _members(text)
            elif key == "format_version" and not str(text.value()).startswith("1."):
                raise NotStreamable
            elif key != "format_version":
                text.value()
            if text.take() == "}":
                break
            text.back(",")
    if "items" not in seen or "format_version" not in seen or not text.at_end():
        raise NotStreamable


def _members(text: JsonText) -> Iterator[tuple[str, dict[str, Any]]]:
    text.expect("{")
    if text.peek() == "}":
        text.take()
        return
    while True:
        address = text.value()
        text.expect(":")
        entry = text.value()
        if isinstance(entry, dict):  # as the whole-file reader: anything else is not an entry
            yield str(address), entry
        if text.take() == "}":
            return
        text.back(",")


def _read_whole(path: Path) -> dict[str, dict[str, Any]]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise _unreadable(path, error) from None
    items = doc.get("items") if isinstance(doc, dict) else None
    if not isinstance(items, dict) or not str(doc.get("format_version", "")).startswith("1."):
        raise PlanFileError(f"{path}: not an amlctl export index (format_version 1.x with items)")
    return {str(k): v for k, v in items.items() if isinstance(v, dict)}


def _unreadable(path: Path, error: Exception) -> PlanFileError:
    return PlanFileError(
        f"{path}: export index is unreadable ({error}); move it aside to export everything again"
    )


def fingerprints(export_to: str | None) -> LastExported:
    """Address -> fingerprint of the item as last exported (the entries are not kept)."""
    return LastExported(
        (address, str(entry.get("fingerprint", ""))) for address, entry in iter_entries(export_to)
    )


class LastExported(Mapping[str, str]):
    """Address -> fingerprint of the item as last exported: what a plan tells new exports from
    changed and current ones by. It is held for every entry of the index while the plan is
    made, so it is kept small: an address of the usual shape (`export:<workspace>/<kind>/<id>`)
    as its id under its workspace and kind, a fingerprint compacted (`compact_fingerprint`):
    177 bytes of heap an entry at scale:5000 (a dict of the two strings: about 270, from
    their sizes). Any other address is kept whole; each reads back exactly as it was given."""

    def __init__(self, entries: Iterable[tuple[str, str]]) -> None:
        self._grouped: dict[tuple[str, str], dict[str, str | bytes]] = {}
        self._other: dict[str, str | bytes] = {}
        for address, fingerprint in entries:
            held = compact_fingerprint(fingerprint)
            parts = _usual_parts(address)
            if parts is None:
                self._other[address] = held
            else:
                self._grouped.setdefault(parts[:2], {})[parts[2]] = held

    def __getitem__(self, address: str) -> str:
        parts = _usual_parts(address)
        if parts is None:
            return full_fingerprint(self._other[address])
        return full_fingerprint(self._grouped.get(parts[:2], {})[parts[2]])

    def get(self, address: str, default: Any = None) -> Any:
        # Mapping's get goes through a KeyError: a first plan asks for every item it exports.
        parts = _usual_parts(address)
        if parts is None:
            held = self._other.get(address)
        else:
            held = self._grouped.get(parts[:2], {}).get(parts[2])
        return default if held is None else full_fingerprint(held)

    def __contains__(self, address: object) -> bool:
        return self.get(address) is not None  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[str]:
        for (workspace, kind), ids in self._grouped.items():
            yield from (f"{_EXPORT}{workspace}/{kind}/{item_id}" for item_id in ids)
        yield from self._other

    def __len__(self) -> int:
        return len(self._other) + sum(len(ids) for ids in self._grouped.values())


_EXPORT = "export:"


def _usual_parts(address: object) -> tuple[str, str, str] | None:
    """(workspace, kind, id) of `export:<workspace>/<kind>/<id>` (an id may hold slashes)."""
    if not isinstance(address, str) or not address.startswith(_EXPORT):
        return None
    parts = address[len(_EXPORT) :].split("/", 2)
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else None
