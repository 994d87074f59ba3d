"""The emulator's state: one SQLite file (WAL) holding workspaces and everything under them.

Every item lives in one generic table keyed by (workspace key, kind, id), with a `parent` column
for kinds listed under something else (runs and metrics under an experiment name, artifacts under
their data container). Lists page by keyset on (ws, kind, parent, id), so a page is one index
range scan whatever the table size. A separate `reads` table counts GETs per item, for bodies
that change from one read to the next (a compute's node counts); it is not part of the item, so
reading never changes an item's etag.

One connection is shared by all server threads behind a lock: SQLite serialises writers anyway,
and the requests are small, so a lock keeps the code simple without costing throughput.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS resource_groups(
    subscription TEXT NOT NULL, name TEXT NOT NULL, PRIMARY KEY(subscription, name));
CREATE TABLE IF NOT EXISTS workspaces(
    key TEXT PRIMARY KEY, subscription TEXT NOT NULL, resource_group TEXT NOT NULL,
    name TEXT NOT NULL, location TEXT NOT NULL, storage_account TEXT NOT NULL,
    doc TEXT NOT NULL, etag TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS workspaces_by_account ON workspaces(storage_account);
CREATE TABLE IF NOT EXISTS items(
    ws TEXT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL, parent TEXT NOT NULL,
    doc TEXT NOT NULL, content BLOB, etag TEXT NOT NULL, created TEXT NOT NULL,
    PRIMARY KEY(ws, kind, id));
CREATE INDEX IF NOT EXISTS items_page ON items(ws, kind, parent, id);
CREATE TABLE IF NOT EXISTS operations(
    id TEXT PRIMARY KEY, ws TEXT NOT NULL, polls_left INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reads(
    ws TEXT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY(ws, kind, id));
CREATE TABLE IF NOT EXISTS deleted_workspaces(
    key TEXT PRIMARY KEY, subscription TEXT NOT NULL, resource_group TEXT NOT NULL,
    name TEXT NOT NULL, location TEXT NOT NULL, storage_account TEXT NOT NULL,
    doc TEXT NOT NULL, etag TEXT NOT NULL, deleted_at TEXT NOT NULL, purge_after TEXT NOT NULL);
"""

ItemRow = tuple[str, str, str, str, str, bytes | None, str, str]
"""(ws, kind, id, parent, doc json, content, etag, created) as `put_many` takes it."""
Value = str | int | bool | tuple[str, ...]
"""A value `Store.page` filters a field by: equal to it, or (a tuple) to one of them."""


def workspace_key(subscription: str, resource_group: str, workspace: str) -> str:
    """The store key of a workspace; ARM names are case-insensitive, so the key is lowercased."""
    return f"{subscription}/{resource_group}/{workspace}".lower()


def make_etag(raw: str | bytes) -> str:
    """A deterministic quoted etag for a document or content."""
    data = raw.encode() if isinstance(raw, str) else raw
    return '"0x' + hashlib.sha256(data).hexdigest()[:15].upper() + '"'


def dumps(doc: Mapping[str, Any]) -> str:
    """Compact JSON, as the real services send it."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Workspace:
    """A workspace row; `doc` is the ARM resource body."""

    key: str
    subscription: str
    resource_group: str
    name: str
    location: str
    storage_account: str
    raw: str
    etag: str

    @property
    def doc(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.raw)
        return parsed


@dataclass(frozen=True)
class Item:
    """One stored item; `raw` is the JSON body served for it."""

    ws: str
    kind: str
    id: str
    parent: str
    raw: str
    etag: str
    created: str

    @property
    def doc(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.raw)
        return parsed


@dataclass(frozen=True)
class DeletedWorkspace:
    """A soft-deleted workspace: gone from every answer, its items kept (hidden) until it is
    purged or `purge_after` passes, its name still taken."""

    workspace: Workspace
    deleted_at: str
    purge_after: str


_WS_COLUMNS = "key, subscription, resource_group, name, location, storage_account, doc, etag"
_ITEM_COLUMNS = "ws, kind, id, parent, doc, etag, created"


class Store:
    """The SQLite store. Safe to share between threads."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._db.execute(
            "INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version', ?)", (SCHEMA_VERSION,)
        )

    def close(self) -> None:
        """Close the connection (checkpointing the WAL)."""
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run several statements atomically."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, tuple(args)).fetchall()

    # -- metadata --------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self._query("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", (key, value))

    def is_empty(self) -> bool:
        """True when the store holds no workspace and no item (seeds apply only then)."""
        rows = self._query(
            "SELECT (SELECT COUNT(*) FROM workspaces) + (SELECT COUNT(*) FROM items)"
        )
        return int(rows[0][0]) == 0

    # -- workspaces ------------------------------------------------------------------------
    def put_workspace(self, doc: Mapping[str, Any], storage_account: str) -> Workspace:
        """Create or replace a workspace from its ARM body (its `id` names sub, rg and name)."""
        parts = str(doc["id"]).split("/")
        sub, rg, name = parts[2], parts[4], parts[8]
        raw = dumps(doc)
        etag = str(doc.get("etag") or make_etag(raw))
        row = (workspace_key(sub, rg, name), sub, rg, name, str(doc["location"]),
               storage_account.lower(), raw, etag)
        with self.transaction() as db:
            db.execute(f"INSERT OR REPLACE INTO workspaces({_WS_COLUMNS}) VALUES(?,?,?,?,?,?,?,?)",
                       row)
            db.execute("INSERT OR IGNORE INTO resource_groups VALUES(?, ?)",
                       (sub.lower(), rg.lower()))
        return Workspace(*row)

    def get_workspace(self, subscription: str, resource_group: str, name: str) -> Workspace | None:
        """The workspace, or None."""
        rows = self._query(f"SELECT {_WS_COLUMNS} FROM workspaces WHERE key = ?",
                           (workspace_key(subscription, resource_group, name),))
        return Workspace(*rows[0]) if rows else None

    def workspace_by_account(self, storage_account: str) -> Workspace | None:
        """The workspace whose storage account has this name (artifact blob downloads)."""
        rows = self._query(f"SELECT {_WS_COLUMNS} FROM workspaces WHERE storage_account = ?",
                           (storage_account.lower(),))
        return Workspace(*rows[0]) if rows else None

    def list_workspaces(
        self, subscription: str | None = None, resource_group: str | None = None,
        after: str = "", limit: int = -1,
    ) -> list[Workspace]:
        """Workspaces ordered by key, optionally within a subscription / resource group."""
        prefix = "/".join(p.lower() for p in (subscription, resource_group) if p)
        rows = self._query(
            f"SELECT {_WS_COLUMNS} FROM workspaces WHERE key LIKE ? ESCAPE '\\' AND key > ? "
            "ORDER BY key LIMIT ?",
            (_like_prefix(prefix + "/" if prefix else ""), after, limit),
        )
        return [Workspace(*row) for row in rows]

    def resource_group_exists(self, subscription: str, resource_group: str) -> bool:
        rows = self._query("SELECT 1 FROM resource_groups WHERE subscription = ? AND name = ?",
                           (subscription.lower(), resource_group.lower()))
        return bool(rows)

    def delete_workspace(self, key: str) -> bool:
        """Remove a workspace and every item under it (a purge, also of a soft-deleted one);
        False if there was nothing to remove."""
        with self.transaction() as db:
            gone = db.execute("DELETE FROM workspaces WHERE key = ?", (key,)).rowcount
            gone += db.execute("DELETE FROM deleted_workspaces WHERE key = ?", (key,)).rowcount
            db.execute("DELETE FROM items WHERE ws = ?", (key,))
            db.execute("DELETE FROM reads WHERE ws = ?", (key,))
        return gone > 0

    def soft_delete_workspace(self, key: str, deleted_at: str, purge_after: str,
                              hard: Mapping[str, Mapping[str, Value]]) -> bool:
        """Soft-delete a workspace: it leaves every answer, its items stay (hidden) but those of
        `hard` (kind -> field filter, `{}` for every item of the kind) go at once; False if it
        was not there."""
        with self.transaction() as db:
            rows = db.execute(f"SELECT {_WS_COLUMNS} FROM workspaces WHERE key = ?",
                              (key,)).fetchall()
            if not rows:
                return False
            db.execute(f"INSERT OR REPLACE INTO deleted_workspaces({_WS_COLUMNS}, deleted_at, "
                       "purge_after) VALUES(?,?,?,?,?,?,?,?,?,?)",
                       (*rows[0], deleted_at, purge_after))
            db.execute("DELETE FROM workspaces WHERE key = ?", (key,))
            for kind, where in hard.items():
                sql, args = _filters(where)
                db.execute(f"DELETE FROM items WHERE ws = ? AND kind = ?{sql}", (key, kind, *args))
        return True

    def deleted_workspace(self, subscription: str, resource_group: str,
                          name: str) -> DeletedWorkspace | None:
        """The soft-deleted workspace of this name, or None."""
        rows = self._query(f"SELECT {_WS_COLUMNS}, deleted_at, purge_after FROM "
                           "deleted_workspaces WHERE key = ?",
                           (workspace_key(subscription, resource_group, name),))
        if not rows:
            return None
        *ws, deleted_at, purge_after = rows[0]
        return DeletedWorkspace(Workspace(*ws), str(deleted_at), str(purge_after))

    # -- items -----------------------------------------------------------------------------
    def put(
        self, ws: str, kind: str, item_id: str, doc: Mapping[str, Any], *, parent: str = "",
        content: bytes | None = None, created: str = "",
    ) -> Item:
        """Create or replace one item. The etag is the doc's `etag` field or a hash of it."""
        raw = dumps(doc)
        etag = str(doc.get("etag") or make_etag(raw))
        created = created or str(doc.get("createdTime") or doc.get("createdUtc") or "")
        self.put_many([(ws, kind, item_id, parent, raw, content, etag, created)])
        return Item(ws, kind, item_id, parent, raw, etag, created)

    def put_many(self, rows: Iterable[ItemRow]) -> None:
        """Insert or replace many items in one transaction (seeding)."""
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO items(ws, kind, id, parent, doc, content, etag, created) "
                "VALUES(?,?,?,?,?,?,?,?)", rows)

    def get(self, ws: str, kind: str, item_id: str) -> Item | None:
        """One item, or None."""
        rows = self._query(
            f"SELECT {_ITEM_COLUMNS} FROM items WHERE ws = ? AND kind = ? AND id = ?",
            (ws, kind, item_id))
        return Item(*rows[0]) if rows else None

    def content(self, ws: str, kind: str, item_id: str) -> bytes | None:
        """The content bytes of an item (artifacts), or None."""
        rows = self._query("SELECT content FROM items WHERE ws = ? AND kind = ? AND id = ?",
                           (ws, kind, item_id))
        return bytes(rows[0][0]) if rows and rows[0][0] is not None else None

    def patch(self, ws: str, kind: str, item_id: str, fields: Mapping[str, Any]) -> Item:
        """Merge `fields` into an item's document and give it a new etag.

        Tests use this to change an item between a plan and an apply (e.g. a model's
        description and modifiedTime). A doc that carries an `etag` field gets the new one.
        """
        item = self.get(ws, kind, item_id)
        if item is None:
            raise KeyError(f"{kind} {item_id} not found in {ws}")
        doc = {**item.doc, **fields}
        if "etag" in doc:
            doc["etag"] = make_etag(dumps({**doc, "etag": None}))
        return self.put(ws, kind, item_id, doc, parent=item.parent,
                        content=self.content(ws, kind, item_id), created=item.created)

    def delete(self, ws: str, kind: str, item_id: str) -> bool:
        """Remove one item (and its read count); False if it did not exist."""
        with self.transaction() as db:
            gone = db.execute("DELETE FROM items WHERE ws = ? AND kind = ? AND id = ?",
                              (ws, kind, item_id)).rowcount
            db.execute("DELETE FROM reads WHERE ws = ? AND kind = ? AND id = ?",
                       (ws, kind, item_id))
        return gone > 0

    def count_read(self, ws: str, kind: str, item_id: str) -> int:
        """Count one GET of an item; returns how many there have been, this one included.

        Kept in the store, not in memory, so the count survives a restart and is shared by
        every app (loopback and in-process) over the same database, as a real resource's state
        would be.
        """
        rows = self._query(
            "INSERT INTO reads(ws, kind, id, n) VALUES(?, ?, ?, 1) "
            "ON CONFLICT(ws, kind, id) DO UPDATE SET n = n + 1 RETURNING n",
            (ws, kind, item_id))
        return int(rows[0][0])

    def page(
        self, ws: str, kind: str, *, parent: str = "", after: str = "", limit: int = -1,
        where: Mapping[str, Value] | None = None, contains: tuple[str, str] | None = None,
    ) -> list[Item]:
        """Items of a kind under a parent with id > `after`, by id; `limit` -1 means all.

        `where` keeps items whose JSON fields (dot paths) equal the given values, or one of a
        tuple of them; `contains` (field, value) keeps items whose JSON list field holds the
        value.
        """
        sql = (f"SELECT {_ITEM_COLUMNS} FROM items "
               "WHERE ws = ? AND kind = ? AND parent = ? AND id > ?")
        args: list[Any] = [ws, kind, parent, after]
        filters, filter_args = _filters(where or {})
        sql += filters
        args += filter_args
        if contains is not None:
            sql += " AND EXISTS (SELECT 1 FROM json_each(items.doc, ?) WHERE json_each.value = ?)"
            args += ["$." + contains[0], contains[1]]
        rows = self._query(sql + " ORDER BY id LIMIT ?", [*args, limit])
        return [Item(*row) for row in rows]

    def children(self, ws: str, kind: str, parent: str) -> list[Item]:
        """Every item of a kind under one parent (the versions of a container), by id."""
        return self.page(ws, kind, parent=parent)

    def delete_children(self, ws: str, kind: str, parent: str) -> int:
        """Remove every item of a kind under one parent (an endpoint's deployments)."""
        with self.transaction() as db:
            db.execute("DELETE FROM reads WHERE ws = ? AND kind = ? AND id IN (SELECT id FROM "
                       "items WHERE ws = ? AND kind = ? AND parent = ?)",
                       (ws, kind, ws, kind, parent))
            return int(db.execute("DELETE FROM items WHERE ws = ? AND kind = ? AND parent = ?",
                                  (ws, kind, parent)).rowcount)

    def referring(self, ws: str, kinds: Iterable[str], paths: Iterable[str],
                  value: str) -> list[Item]:
        """Items of `kinds` whose field at one of `paths` (dot paths) names `value`, compared
        case-insensitively as ARM compares resource ids (deployments using a model version)."""
        wanted, fields = tuple(kinds), tuple(paths)
        if not wanted or not fields:
            return []
        named = " OR ".join("lower(json_extract(doc, ?)) = lower(?)" for _ in fields)
        rows = self._query(
            f"SELECT {_ITEM_COLUMNS} FROM items WHERE ws = ? AND kind IN "
            f"({','.join('?' * len(wanted))}) AND ({named}) ORDER BY kind, parent, id",
            (ws, *wanted, *(arg for path in fields for arg in ("$." + path, value))))
        return [Item(*row) for row in rows]

    def find(self, ws: str, kind: str, list_field: str, value: str) -> list[Item]:
        """Items whose JSON list field `list_field` contains `value` (images using a model)."""
        rows = self._query(
            f"SELECT {_ITEM_COLUMNS} FROM items WHERE ws = ? AND kind = ? AND EXISTS "
            "(SELECT 1 FROM json_each(items.doc, ?) WHERE json_each.value = ?) ORDER BY id",
            (ws, kind, "$." + list_field, value))
        return [Item(*row) for row in rows]

    def count(self, ws: str, kind: str | None = None) -> int:
        """How many items a workspace holds (of one kind, or in all)."""
        if kind is None:
            rows = self._query("SELECT COUNT(*) FROM items WHERE ws = ?", (ws,))
        else:
            rows = self._query("SELECT COUNT(*) FROM items WHERE ws = ? AND kind = ?", (ws, kind))
        return int(rows[0][0])

    def counts(self, ws: str) -> dict[str, int]:
        """Item counts per kind for a workspace."""
        rows = self._query("SELECT kind, COUNT(*) FROM items WHERE ws = ? GROUP BY kind ORDER BY "
                           "kind", (ws,))
        return {str(kind): int(n) for kind, n in rows}

    # -- long-running operations -------------------------------------------------------------
    def put_operation(self, op_id: str, ws: str, polls: int, doc: Mapping[str, Any]) -> None:
        self._query("INSERT OR REPLACE INTO operations VALUES(?, ?, ?, ?)",
                    (op_id, ws, polls, dumps(doc)))

    def poll_operation(self, op_id: str) -> tuple[int, dict[str, Any]] | None:
        """Count one poll of an operation; returns (polls left before this one, doc) or None."""
        with self.transaction() as db:
            rows = db.execute("SELECT polls_left, doc FROM operations WHERE id = ?",
                              (op_id,)).fetchall()
            if not rows:
                return None
            left = int(rows[0][0])
            db.execute("UPDATE operations SET polls_left = ? WHERE id = ?",
                       (max(left - 1, 0), op_id))
        return left, json.loads(rows[0][1])


def _filters(where: Mapping[str, Value]) -> tuple[str, list[Any]]:
    """SQL conditions (each starting " AND") and their arguments for a field filter."""
    sql = ""
    args: list[Any] = []
    for path, value in sorted(where.items()):
        if isinstance(value, tuple):
            sql += f" AND json_extract(doc, ?) IN ({','.join('?' * len(value))})"
            args += ["$." + path, *value]
        else:
            sql += " AND json_extract(doc, ?) = ?"
            args += ["$." + path, value]
    return sql, args


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"
