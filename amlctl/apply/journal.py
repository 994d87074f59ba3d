"""The apply journal (`<plan>.journal.jsonl`) and the plan lock (`apply-<digest12>.lock`).

The journal is append-only JSON lines, one record per state transition of an item:
{"seq": n, "time": RFC 3339 UTC, "address": str | null, "event": str, ...fields}. `append`
returns only once its line is fsync'd, so the executor can rely on "journaled, then act":
a DELETE goes out only after its `delete-sent` line is on disk, and an item counts as done only
after its terminal line is. A crash can tear at most the last line (no newline, or not JSON);
`Journal.open` drops it, since whatever it recorded had not been acted on yet.

Group commit: `append(..., durable=False)` writes the line at once (a killed process loses
nothing: it is in the kernel's hands) but leaves its fsync to the next durable append, to
`sync()`, or to the batch (every `GROUP_LINES` lines or `GROUP_SECONDS`), so many exports share
one disk flush. Only lines whose loss a power cut may cost are written so: an export whose
export-done line is lost is simply exported again by the next run. Every sync first calls
`before_sync` (the exporter makes its files' names durable there), so the journal never holds
on disk an export whose file might not be.

The lock is an flock on an open file, so the kernel releases it when its holder dies, even by
kill -9: a crashed apply never leaves a stale lock to break by hand. Take the lock before
opening the journal: the journal itself assumes a single writing process. The lock is named by
the plan's digest, not its file name: a copy of a reviewed plan (`cp p.plan.json q.plan.json`)
is the same plan, and takes the same lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from amlctl.errors import AmlctlError, ApplyRefused
from amlctl.fsio import fsync_dir, read_line_at
from amlctl.timestamps import rfc3339_millis

# json.dumps with options builds an encoder per call, ~40% of the time of a short line; an
# encoder keeps no state between calls, so one serves every thread.
_LINE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True)
JOURNAL_SUFFIX = ".journal.jsonl"
LOCK_SUFFIX = ".lock"

START = "start"  # header, address null: plan_digest, target, started
RESUME = "resume"  # a later run picked the journal up again, address null: pid, host
EXPORT_DONE = "export-done"  # file, sha256, size, request_id, status (+ content_file/_sha256/_size)
DELETE_SENT = "delete-sent"  # written BEFORE the DELETE goes out
DELETE_ACCEPTED = "delete-accepted"  # 202 and its poll URL: poll, never re-send
DELETE_DONE = "delete-done"  # outcome: deleted | absent, status, request_id
SKIPPED = "skipped"  # reason: changed-since-plan | gone-since-plan | blocked, status, detail
FAILED = "failed"  # status, code, message: retried on a re-run
FINISH = "finish"  # summary counts, address null
STOPPED = "stopped"  # the run stopped early, address null: host, reason (unreachable)

EVENTS = frozenset(
    {
        START,
        RESUME,
        EXPORT_DONE,
        DELETE_SENT,
        DELETE_ACCEPTED,
        DELETE_DONE,
        SKIPPED,
        FAILED,
        FINISH,
        STOPPED,
    }
)
TERMINAL = frozenset({EXPORT_DONE, DELETE_DONE, SKIPPED})
_IN_FLIGHT = frozenset({DELETE_SENT, DELETE_ACCEPTED})
GROUP_LINES = 256  # unsynced lines that force a sync
GROUP_SECONDS = 0.5  # age of the oldest unsynced line that forces one
_RESERVED = ("seq", "time", "address", "event")


class JournalError(AmlctlError):
    """The journal file is unreadable or damaged beyond a torn last line."""


class PlanLocked(ApplyRefused):
    """Another process holds the plan lock."""


def journal_path(plan: Path) -> Path:
    """`<plan>.journal.jsonl`; a path already ending so is returned as is."""
    return (
        plan if plan.name.endswith(JOURNAL_SUFFIX) else plan.with_name(plan.name + JOURNAL_SUFFIX)
    )


def lock_path(plan: Path, digest: str) -> Path:
    """`apply-<first 12 of digest>.lock` beside the plan: one lock for every copy of it."""
    short = digest.removeprefix("sha256:")[:12]
    return plan.with_name(f"apply-{short}{LOCK_SUFFIX}")


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ItemState:
    """Where one address stands: its last event and that record's fields.

    `in_flight` holds the fields of the last delete-sent/delete-accepted record not followed by
    a terminal event, under `in_flight_event`: a `failed` after a DELETE went out does not make
    its outcome any less unknown. `failures` counts `failed` records, across runs.
    """

    event: str
    fields: Mapping[str, Any]
    seq: int
    time: str
    in_flight_event: str | None = None
    in_flight: Mapping[str, Any] = field(default_factory=dict)
    failures: int = 0

    @property
    def terminal(self) -> bool:
        """True when the item is finished for this plan (exported, deleted or skipped)."""
        return self.event in TERMINAL


class Journal:
    """An open journal: replayed state plus fsync'd appends. Safe to share between threads."""

    def __init__(self, path: Path, fd: int, now: Callable[[], datetime]) -> None:
        self.path = path
        self._fd: int | None = fd
        self._now = now
        self._lock = threading.Lock()
        self._seq = 0
        self._header: dict[str, Any] | None = None
        self._finish: dict[str, Any] | None = None
        # Where each address's records are, not the records: a journal of 100k items is read
        # back from the file (`state`), a line at a time, rather than held.
        self._last: dict[str, int] = {}  # offset of the address's last record
        self._flight: dict[str, int] = {}  # of its delete-sent/-accepted not yet followed up
        self._failures: dict[str, int] = {}  # its `failed` records, across runs
        self._end = 0  # the file's size: where the next line starts
        self._synced_seq = 0  # every line up to this seq is on disk
        self._syncing_seq = 0  # every line up to this one is in a sync begun (maybe not ended)
        self._oldest_unsynced = 0.0  # monotonic time of the first line no sync has begun on
        self.before_sync: Callable[[], None] | None = None

    @classmethod
    def open(cls, path: Path, *, now: Callable[[], datetime] = _utcnow) -> Journal:
        """Open (creating, 0600) the journal of plan `path` and replay it.

        `path` is the plan file or the journal itself. A torn last line is truncated away;
        any other bad line raises JournalError naming its line number.
        """
        target = journal_path(path)
        created = not target.exists()
        flags = os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(target, flags, 0o600)
        except OSError as error:
            raise JournalError(f"{target}: cannot open journal: {error.strerror}") from None
        journal = cls(target, fd, now)
        try:
            journal._replay()
            if created:
                fsync_dir(target.parent)  # the new file's name must survive a power loss too
        except BaseException:
            journal.close()
            raise
        return journal

    @property
    def header(self) -> dict[str, Any] | None:
        """The first record (event "start"), or None for a journal nothing was written to."""
        return None if self._header is None else dict(self._header)

    @property
    def finished(self) -> dict[str, Any] | None:
        """The "finish" record of a run that completed the plan, or None."""
        return None if self._finish is None else dict(self._finish)

    @property
    def has_items(self) -> bool:
        """Whether any record names an item (a first run's journal has none yet)."""
        with self._lock:
            return bool(self._last)

    def state(self, address: str) -> ItemState | None:
        """The replayed and appended state of `address`, or None when it has no record."""
        with self._lock:
            last = self._last.get(address)
            if last is None:
                return None
            record = self._record_at(last)
            flight = self._flight.get(address)
            sent = self._record_at(flight) if flight is not None else None
            failures = self._failures.get(address, 0)
        return ItemState(
            record["event"], _fields(record), record["seq"], record["time"],
            None if sent is None else sent["event"], {} if sent is None else _fields(sent),
            failures,
        )

    def append(
        self, event: str, address: str | None = None, *, durable: bool = True, **fields: Any
    ) -> dict[str, Any]:
        """Write one record and, when `durable`, fsync it (and every line before it) before
        returning it; else leave it to the group commit (module doc). Raises JournalError on
        I/O errors."""
        with self._lock:
            _check_append(event, fields, has_header=self._header is not None)
            fd = self._require_open()
            record = {
                "seq": self._seq + 1,
                "time": rfc3339_millis(self._now()),
                "address": address,
                "event": event,
                **fields,
            }
            line = _LINE.encode(record) + "\n"
            data = line.encode("ascii")
            _write_all(fd, data, self.path)
            offset, self._end = self._end, self._end + len(data)
            now = time.monotonic()
            if self._seq == self._syncing_seq:
                self._oldest_unsynced = now
            self._seq += 1
            self._apply(record, offset)
            # A group's lines count from the last sync begun, not ended: while one is on its
            # way, the appends behind it do not each start another (and sync every folder).
            waiting = self._seq - self._syncing_seq
            due = durable or waiting >= GROUP_LINES
            due = due or now - self._oldest_unsynced >= GROUP_SECONDS
        if due:
            self.sync()
        return record

    def sync(self) -> None:
        """fsync every line written so far (after `before_sync`); a no-op when all are."""
        with self._lock:
            fd, upto = self._require_open(), self._seq
            if self._synced_seq >= upto:
                return
            if upto > self._syncing_seq:
                self._syncing_seq = upto
                self._oldest_unsynced = time.monotonic()
        try:
            if self.before_sync is not None:
                self.before_sync()
            # Outside the lock: concurrent appenders share one disk flush. A sync that another
            # thread has under way does not count until it has returned, so each durable
            # append returns only once its own line is on disk.
            os.fsync(fd)
        except OSError as error:
            raise JournalError(f"{self.path}: cannot sync journal: {error.strerror}") from None
        with self._lock:
            self._synced_seq = max(self._synced_seq, upto)

    def close(self) -> None:
        """Sync what is left, then close the file; later appends raise JournalError."""
        if self._fd is not None:
            self.sync()
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _require_open(self) -> int:
        if self._fd is None:
            raise JournalError(f"{self.path}: journal is closed")
        return self._fd

    def _replay(self) -> None:
        """Read the file line by line, keeping of each address only where its lines are."""
        fd = self._require_open()
        torn: tuple[int, int, int] | None = None  # number, start, end of a line not JSON
        end = 0
        for number, offset, raw in _lines(fd):
            if torn is not None:  # a bad line with more after it: damage, not a torn write
                raise self._damaged(torn[0])
            record = _parse(raw)
            if record is None:
                torn = (number, offset, offset + len(raw) + 1)
                continue
            self._check_seq(record, number)
            self._apply(record, offset)
            end = offset + len(raw) + 1
        size = os.fstat(fd).st_size
        # A crash tears at most the last line: no newline, or a newline after text not JSON.
        keep = end
        if torn is not None:
            if size != torn[2]:  # text after it, even with no newline: not a torn last line
                raise self._damaged(torn[0])
            keep = torn[1]
        if keep != size:
            os.ftruncate(fd, keep)  # O_APPEND: the next line starts right after the last good one
            os.fsync(fd)
        self._end = keep
        self._synced_seq = self._syncing_seq = self._seq

    def _damaged(self, number: int) -> JournalError:
        return JournalError(
            f"{self.path}:{number}: not a journal record; the journal is "
            "damaged, move it aside only if you know what was applied"
        )

    def _check_seq(self, record: dict[str, Any], number: int) -> None:
        if record["seq"] != self._seq + 1:
            raise JournalError(
                f"{self.path}:{number}: seq {record['seq']}, expected "
                f"{self._seq + 1}; the journal was edited or interleaved"
            )
        if number == 1 and record["event"] != START:
            raise JournalError(f"{self.path}:1: first record is {record['event']!r}, not 'start'")
        self._seq = record["seq"]

    def _apply(self, record: dict[str, Any], offset: int) -> None:
        event = record["event"]
        if event == START and self._header is None:
            self._header = record
        if event == FINISH:
            self._finish = record
        address = record["address"]
        if address is None:
            return
        self._last[address] = offset
        if event in _IN_FLIGHT:
            self._flight[address] = offset
        elif event in TERMINAL:
            self._flight.pop(address, None)
        if event == FAILED:
            self._failures[address] = self._failures.get(address, 0) + 1

    def _record_at(self, offset: int) -> dict[str, Any]:
        record = _parse(read_line_at(self._require_open(), offset))
        if record is None:  # we wrote it, or replay read it: the file changed under us
            raise JournalError(f"{self.path}: the record at byte {offset} changed on disk")
        return record


def _lines(fd: int) -> Iterator[tuple[int, int, bytes]]:
    """(line number, byte offset, bytes without the newline) of each complete line of `fd`;
    a last piece with no newline is not one."""
    offset, number, carry = 0, 0, b""
    os.lseek(fd, 0, os.SEEK_SET)
    while block := os.read(fd, 1 << 20):
        data = carry + block
        start = 0
        while (newline := data.find(b"\n", start)) >= 0:
            number += 1
            yield number, offset + start, data[start:newline]
            start = newline + 1
        offset += start
        carry = data[start:]


def _check_append(event: str, fields: Mapping[str, Any], *, has_header: bool) -> None:
    """Catch executor bugs before they reach the file: these are programming errors."""
    if event not in EVENTS:
        raise ValueError(f"unknown journal event {event!r}")
    if (event == START) == has_header:
        raise ValueError("'start' must be the first record, and only the first")
    clash = [key for key in _RESERVED if key in fields]
    if clash:
        raise ValueError(f"journal fields may not be named {', '.join(clash)}")


def _fields(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in _RESERVED}


def _parse(raw: bytes) -> dict[str, Any] | None:
    """A journal record from one line, or None when the line is not one."""
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    ok = (
        isinstance(record.get("seq"), int)
        and isinstance(record.get("event"), str)
        and isinstance(record.get("time"), str)
        and isinstance(record.get("address", 0), str | None)
    )
    return record if ok else None


def _write_all(fd: int, data: bytes, path: Path) -> None:
    try:
        while data:
            data = data[os.write(fd, data) :]
    except OSError as error:
        raise JournalError(f"{path}: cannot append to journal: {error.strerror}") from None


class PlanLock:
    """Exclusive lock on a plan for one apply: `with PlanLock(plan, digest): ...`.

    `apply-<digest12>.lock` holds {pid, host, user, since} of the holder while the lock is
    held. A second acquirer gets PlanLocked at once, naming the holder. On release the file is
    emptied and left in place (removing it would let a waiter lock the unlinked file while a
    newcomer locks a new one); an empty or stale-content file without an flock on it is simply free.
    """

    def __init__(self, plan: Path, digest: str, *, now: Callable[[], datetime] = _utcnow) -> None:
        self.plan = plan
        self.path = lock_path(plan, digest)
        self._now = now
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise PlanLocked immediately (never waits)."""
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this object")
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise PlanLocked(f"plan {self.plan} is being applied by {self._holder()}") from None
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "user": _user(),
            "since": rfc3339_millis(self._now()),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode("utf-8"), 0)
        self._fd = fd

    def release(self) -> None:
        """Empty the lock file and unlock it; a no-op when not held."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)  # before unlocking: the next holder never reads our details
        finally:
            os.close(fd)  # closing the last descriptor drops the flock

    def __enter__(self) -> PlanLock:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def _holder(self) -> str:
        # The holder writes its details just after locking: give it a moment to do so.
        for _attempt in range(10):
            with contextlib.suppress(OSError, ValueError):
                info = json.loads(self.path.read_text(encoding="utf-8"))
                return (
                    f"pid {info.get('pid', '?')} on {info.get('host', '?')} "
                    f"since {info.get('since', '?')}"
                )
            time.sleep(0.02)
        return "another process (its lock file names no holder)"


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers): the uid still identifies
        return str(os.getuid())
