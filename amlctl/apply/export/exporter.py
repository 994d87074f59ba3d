"""Export files and the export index: what apply writes under the manifest's destination.

Each item becomes pretty JSON at the file the plan names (see `amlctl.exportpaths`), plus its
artifact bytes at the same name ending `.content`; both go through `amlctl.fsio`, so they are
confined to the export folder, 0600 in 0700 folders and never half-written. Secret-looking
fields are nulled before anything is written, whatever the server sent. `index.json` (format of
`amlctl.exportindex`) lists each file's hash, size, source URL, request id and time.

The index is kept in a temporary database (`entries`) and written (atomically) once per run,
after the exports or at an interruption; a run killed before that leaves the index as an
earlier run wrote it. So the journal
is the source of truth: every export is journaled as export-done with its index entry, and a
run starts with `resume`, which records the journal's export-done entries, so the index it
writes lists everything exported by any run of the plan, killed or not.

Durability is a group commit: each file's bytes are fsync'd as it is written, its folder's entry
once per batch (`sync`, which the journal calls before each of its own fsyncs), so the journal
never holds on disk an export whose file might vanish in a power cut. An export-done line that
a power cut does take only means the next run exports that item again, once.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from amlctl.apply.export.entries import Entries
from amlctl.apply.journal import EXPORT_DONE, Journal
from amlctl.canonical import pretty_json
from amlctl.fsio import (
    FileRecord,
    OpenFolders,
    UnsafePathError,
    confined_path,
    sha256_file,
    write_atomic,
    write_stream_atomic,
)
from amlctl.timestamps import rfc3339

NOTE_KEY = "_amlctl"
CONTENT_SUFFIX = ".content"
# Nulled when present with any non-null value, compared case-insensitively. "secrets" and
# "certificate" cover the v2 datastore shape ({"secrets": {"key": ...}}) and certificate auth.
_SECRET_KEYS = frozenset(
    k.lower()
    for k in (
        "accountKey",
        "sasToken",
        "clientSecret",
        "secret",
        "password",
        "connectionString",
        "certificate",
        "secrets",
    )
)
# Nulled only when a string: as an object it is a description (type, ids) that is walked into.
_SECRET_IF_STRING = frozenset({"credential"})
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ExportRecord:
    """What was written for one item; `entry()` is its index entry (and export-done fields)."""

    file: str
    sha256: str
    size: int
    source_url: str
    request_id: str | None
    fingerprint: str
    exported_at: str
    content_file: str | None = None
    content_sha256: str | None = None
    content_size: int | None = None
    redacted: tuple[str, ...] = ()  # JSON paths of nulled secrets; not part of the entry

    def entry(self) -> dict[str, Any]:
        """The index entry: content_* keys only when there is content."""
        entry: dict[str, Any] = {
            "file": self.file,
            "sha256": self.sha256,
            "size": self.size,
            "source_url": self.source_url,
            "request_id": self.request_id,
            "fingerprint": self.fingerprint,
            "exported_at": self.exported_at,
        }
        if self.content_file is not None:
            entry |= {
                "content_file": self.content_file,
                "content_sha256": self.content_sha256,
                "content_size": self.content_size,
            }
        return entry

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> ExportRecord:
        """Rebuild a record from `entry()` output (journaled export-done fields, on resume)."""
        return cls(
            file=str(entry["file"]),
            sha256=str(entry["sha256"]),
            size=int(entry["size"]),
            source_url=str(entry["source_url"]),
            request_id=entry.get("request_id"),
            fingerprint=str(entry["fingerprint"]),
            exported_at=str(entry["exported_at"]),
            content_file=entry.get("content_file"),
            content_sha256=entry.get("content_sha256"),
            content_size=entry.get("content_size"),
        )


class Exporter:
    """Writes export files under `root` and keeps the index. Safe to share between threads."""

    def __init__(self, root: Path, *, now: Callable[[], datetime] = _utcnow) -> None:
        self.root = root
        self._now = now
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._entries = Entries()  # on disk: a run may export 100k items
        # Folders stay open for the run; their syncs wait for the journal's group commit
        # (`sync`, which the journal calls before it syncs itself).
        self.folders = OpenFolders(root)

    def export_item(
        self,
        address: str,
        relative_file: str,
        item: Mapping[str, Any],
        *,
        source_url: str,
        request_id: str | None,
        fingerprint: str,
        content: Iterable[bytes] | None = None,
    ) -> ExportRecord:
        """Write `item` (secrets nulled) to `relative_file`, and `content` next to it if given.

        The content goes first: the JSON file appearing means its item is complete. Nothing is
        recorded in the index; call `record` once the export is journaled.
        """
        if not relative_file.endswith(".json"):
            raise UnsafePathError(f"{address}: export file {relative_file!r} must end in .json")
        stored = None
        if content is not None:
            content_name = relative_file.removesuffix(".json") + CONTENT_SUFFIX
            stored = write_stream_atomic(self.root, content_name, content, self.folders)
        clean, redacted = strip_secrets(item)
        written = write_atomic(
            self.root, relative_file, pretty_json(clean, allow_nan=True), self.folders
        )
        return _record(
            written,
            stored,
            redacted,
            source_url=clean_source_url(source_url),
            request_id=request_id,
            fingerprint=fingerprint,
            exported_at=rfc3339(self._now()),
        )

    def sync(self) -> None:
        """Make the names of the files written so far durable (their bytes already are)."""
        self.folders.sync()

    def close(self) -> None:
        """Sync and release the export folders; the index is `flush_index`'s."""
        try:
            self.folders.sync()
        finally:
            self.folders.close()

    def resume(self, journal: Journal, addresses: Iterable[str]) -> int:
        """Record the export-done entries `journal` holds for `addresses`; return how many.

        Call it before the exports of a run. Earlier runs of the plan may have been killed
        before they wrote the index: what they exported is in the journal only, and an item
        found there is not exported again, so without this its entry would never reach the
        index. The journal's entry also replaces whatever the index file holds for it.
        """
        found = 0
        for address in addresses:
            state = journal.state(address)
            if state is not None and state.event == EXPORT_DONE:
                self.record(address, ExportRecord.from_entry(state.fields))
                found += 1
        return found

    def record(self, address: str, record: ExportRecord) -> None:
        """Add `address`'s entry to the run's index (written by `flush_index`)."""
        self._entries.add(address, record.file, record.entry())

    def flush_index(self) -> FileRecord:
        """Write `index.json` atomically: the entries on disk, updated with the recorded ones."""
        with self._flush_lock:
            return self._entries.write_index(self.root)


def _record(
    written: FileRecord, stored: FileRecord | None, redacted: list[str], **fields: Any
) -> ExportRecord:
    if stored is None:
        return ExportRecord(
            written.path, written.sha256, written.size, redacted=tuple(redacted), **fields
        )
    return ExportRecord(
        written.path,
        written.sha256,
        written.size,
        content_file=stored.path,
        content_sha256=stored.sha256,
        content_size=stored.size,
        redacted=tuple(redacted),
        **fields,
    )


def strip_secrets(item: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A copy of `item` with secret fields nulled, and the JSON paths nulled.

    When anything was nulled the copy gains {"_amlctl": {"redacted": [paths]}} so a reader
    knows the null is ours, not the service's.
    """
    if not _any_secret(item):  # most items: no paths to build (a string per key) for nothing
        return dict(item), []
    found: list[str] = []
    clean = {str(k): _strip(v, _join("$", str(k)), found, str(k)) for k, v in item.items()}
    if found:
        clean[NOTE_KEY] = {"redacted": sorted(found)}
    return clean, sorted(found)


def _strip(value: Any, path: str, found: list[str], key: str | None) -> Any:
    if key is not None and _is_secret(key, value):
        found.append(path)
        return None
    if isinstance(value, Mapping):
        return {str(k): _strip(v, _join(path, str(k)), found, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip(v, f"{path}[{i}]", found, None) for i, v in enumerate(value)]
    return value


def _any_secret(value: Any) -> bool:
    """Whether `_strip` would null anything in `value` (a key that is not a string counts)."""
    if isinstance(value, Mapping):
        return any(
            not isinstance(k, str) or _is_secret(k, v) or _any_secret(v) for k, v in value.items()
        )
    if isinstance(value, list):
        return any(_any_secret(v) for v in value)
    return False


def _is_secret(key: str, value: Any) -> bool:
    lowered = key.lower()
    if lowered in _SECRET_IF_STRING:
        return isinstance(value, str)
    return lowered in _SECRET_KEYS and value is not None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if _PLAIN_KEY.fullmatch(key) else f"{path}[{json.dumps(key)}]"


def clean_source_url(url: str) -> str:
    """`url` without user info, fragment or any query parameter but api-version (SAS, keys)."""
    # Not azure.client._redact, on purpose: that one is for error messages and keeps the names
    # of the parameters it hides (`sig=…`); the index keeps no trace of them at all.
    parts = urlsplit(url)
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() == "api-version"
    ]
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, urlencode(query), ""))


def verify_files(root: Path, entries: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Problems with the exported files `entries` (index entries by address) describe.

    Each problem names the address and the file: missing, unreadable, outside the export
    folder, a symbolic link, or a size or SHA-256 different from the index. Empty when all match.
    """
    problems: list[str] = []
    for address in sorted(entries):
        entry = entries[address]
        problems += _check_file(
            root, address, entry.get("file"), entry.get("sha256"), entry.get("size")
        )
        if entry.get("content_file") is not None:
            problems += _check_file(
                root,
                address,
                entry.get("content_file"),
                entry.get("content_sha256"),
                entry.get("content_size"),
            )
    return problems


def _check_file(root: Path, address: str, file: Any, sha256: Any, size: Any) -> list[str]:
    if not isinstance(file, str):
        return [f"{address}: index entry names no file"]
    try:
        actual_sha, actual_size = sha256_file(confined_path(root, file))
    except UnsafePathError as error:
        return [f"{address}: {error}"]
    except FileNotFoundError:
        return [f"{address}: {file}: missing"]
    except OSError as error:  # ELOOP: a link planted where a file was written
        return [f"{address}: {file}: unreadable ({error.strerror})"]
    problems = []
    if actual_size != size:
        problems.append(f"{address}: {file}: size {actual_size}, the index says {size}")
    if actual_sha != sha256:
        problems.append(f"{address}: {file}: SHA-256 {actual_sha}, the index says {sha256}")
    return problems
