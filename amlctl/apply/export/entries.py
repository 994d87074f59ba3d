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


class Entries:
    """Index entries by address, and which address each file belongs to; thread-safe."""

    def __init__(self) -> None:
        # A private database in a temp file SQLite removes on close.
        self._db = sqlite3.connect("", check_same_thread=False, isolation_level=None)
        weakref.finalize(self, self._db.close)
        self._db.executescript(
            "CREATE TABLE entries (address TEXT PRIMARY KEY, entry TEXT NOT NULL);"
            "CREATE TABLE files (file TEXT PRIMARY KEY, address TEXT NOT NULL);"
        )
        self._lock = threading.Lock()

    def add(self, address: str, file: str, entry: Mapping[str, Any]) -> None:
        """Record `entry` for `address`; two addresses may not share `file`."""
        with self._lock, _temp_errors():
            row = self._db.execute("SELECT address FROM files WHERE file = ?", (file,)).fetchone()
            if row is not None and row[0] != address:
                raise UnsafePathError(f"{address} and {row[0]} would share {file!r}")
            if row is None:
                self._db.execute("INSERT INTO files VALUES (?, ?)", (file, address))
            self._db.execute(
                "INSERT OR REPLACE INTO entries VALUES (?, ?)", (address, json.dumps(entry))
            )

    def write_index(self, root: Path) -> FileRecord:
        """`index.json` under `root`: the entries it holds now, updated with the recorded ones."""
        with self._lock, _temp_errors():
            self._db.execute("CREATE TEMP TABLE merged (address TEXT PRIMARY KEY, entry TEXT)")
            try:
                # Kept: a resumed or re-planned export. Streamed, one entry at a time.
                earlier = exportindex.iter_entries(str(root))
                self._db.executemany(
                    "INSERT OR REPLACE INTO merged VALUES (?, ?)",
                    ((address, json.dumps(entry)) for address, entry in earlier),
                )
                self._db.execute("INSERT OR REPLACE INTO merged SELECT * FROM entries")
                merged = _Merged(self._db)
                # An empty mapping is written by the encoder itself, which knows only dicts.
                items: Mapping[str, Any] = merged if len(merged) else {}
                doc = {"format_version": exportindex.FORMAT_VERSION, "items": items}
                return write_stream_atomic(root, exportindex.INDEX_NAME, pretty_json_chunks(doc))
            finally:
                self._db.execute("DROP TABLE merged")


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
