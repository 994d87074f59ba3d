"""The export index of a run, as it grows: its entries in a temporary SQLite database, not in
the heap, and written to `index.json` as a stream (`write_index`).

A run of 100k exports records 100k entries; each is a few hundred bytes as JSON text in the
database, and nothing per entry in memory. `sqlite3.connect("")` makes a private database in a
temp file that SQLite removes when it is closed; the connection is closed when the store is
collected, so nobody has to remember to.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from amlctl.apply.export import index as exportindex
from amlctl.canonical import pretty_json_chunks
from amlctl.fsio import FileRecord, FsError, UnsafePathError, write_stream_atomic

# Entries held in memory before they go to the database, in one statement. SQLite lets go of
# the GIL for each statement, and a worker that must take it back while holding the database
# lock makes every other worker wait on that lock: a statement per batch, not three per export.
BATCH = 64

_STORE = (
    "INSERT INTO entries VALUES (?, ?, ?) "
    "ON CONFLICT (address) DO UPDATE SET file = excluded.file, entry = excluded.entry"
)


class Entries:
    """Index entries by address, and the file each address has (no two the same); thread-safe."""

    def __init__(self) -> None:
        # A private database in a temp file SQLite removes on close.
        self._db = sqlite3.connect("", check_same_thread=False, isolation_level=None)
        weakref.finalize(self, self._db.close)
        # A private database that goes with the process: its rollback journal (what undoes a
        # batch that would share a file) need not be a file, written and deleted per batch.
        self._db.execute("PRAGMA journal_mode = MEMORY")
        self._db.execute(
            "CREATE TABLE entries (address TEXT PRIMARY KEY, file TEXT NOT NULL UNIQUE, "
            "entry TEXT NOT NULL)"
        )
        self._lock = threading.Lock()  # the database; taken before `_pending_lock`
        self._pending: list[tuple[str, str, str]] = []
        self._pending_lock = threading.Lock()

    def add(self, address: str, file: str, entry: Mapping[str, Any]) -> None:
        """Record `entry` for `address`. Two addresses may not share `file`: UnsafePathError,
        raised once the second reaches the database (at most BATCH adds later, or in
        `write_index`), since a file's owner is known there and not in memory."""
        with self._pending_lock:
            self._pending.append((address, file, json.dumps(entry)))
            if len(self._pending) < BATCH:
                return
        self._store_pending()

    def _store_pending(self) -> None:
        """Move the entries held in memory into the database, in the order they were added."""
        with self._lock:
            with self._pending_lock:
                batch, self._pending = self._pending, []
            if not batch:
                return
            with _temp_errors():
                self._db.execute("BEGIN")
                try:
                    self._db.executemany(_STORE, batch)
                except sqlite3.IntegrityError:
                    self._db.execute("ROLLBACK")
                    self._db.execute("BEGIN")
                    self._store_one_by_one(batch)  # commits, then raises naming the two
                    return
                self._db.execute("COMMIT")

    def _store_one_by_one(self, batch: list[tuple[str, str, str]]) -> None:
        """Store every entry of `batch` but those that would share a file, then raise for the
        first of them."""
        clash = None
        for address, file, entry in batch:
            row = self._db.execute("SELECT address FROM entries WHERE file = ?", (file,)).fetchone()
            if row is not None and row[0] != address:
                clash = clash or UnsafePathError(f"{address} and {row[0]} would share {file!r}")
                continue
            self._db.execute(_STORE, (address, file, entry))
        self._db.execute("COMMIT")
        if clash is not None:
            raise clash

    def write_index(self, root: Path) -> FileRecord:
        """`index.json` under `root`: the entries it holds now, updated with the recorded ones."""
        try:
            self._store_pending()
            clash = None
        except UnsafePathError as error:  # the index still lists every other entry
            clash = error
        with self._lock, _temp_errors():
            self._db.execute("CREATE TEMP TABLE merged (address TEXT PRIMARY KEY, entry TEXT)")
            try:
                # Kept: a resumed or re-planned export. Streamed, one entry at a time.
                earlier = exportindex.iter_entries(str(root))
                self._db.executemany(
                    "INSERT OR REPLACE INTO merged VALUES (?, ?)",
                    ((address, json.dumps(entry)) for address, entry in earlier),
                )
                self._db.execute("INSERT OR REPLACE INTO merged SELECT address, entry FROM entries")
                merged = _Merged(self._db)
                # An empty mapping is written by the encoder itself, which knows only dicts.
                items: Mapping[str, Any] = merged if len(merged) else {}
                doc = {"format_version": exportindex.FORMAT_VERSION, "items": items}
                written = write_stream_atomic(root, exportindex.INDEX_NAME, pretty_json_chunks(doc))
            finally:
                self._db.execute("DROP TABLE merged")
        if clash is not None:
            raise clash
        return written


@contextmanager
def _temp_errors() -> Iterator[None]:
    try:
        yield
    except sqlite3.OperationalError as error:  # a full disk: "database or disk is full"
        raise FsError(f"cannot keep the export index in a temporary file: {error}") from None


class _Merged(Mapping[str, Any]):
    """The merged entries, read from the database one at a time as they are written."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __getitem__(self, address: str) -> Any:
        row = self._db.execute("SELECT entry FROM merged WHERE address = ?", (address,)).fetchone()
        if row is None:
            raise KeyError(address)
        return json.loads(row[0])

    def __iter__(self) -> Iterator[str]:
        rows = self._db.cursor().execute("SELECT address FROM merged ORDER BY address")
        return (row[0] for row in rows)

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM merged").fetchone()[0])
