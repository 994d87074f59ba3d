"""Reading a plan file for apply in flat memory: the changes kept on disk, not in the heap.

`load_plan(path)` checks a plan file exactly as `serialize.load_doc` does (the same checks, the
same messages: it runs `validation.problems` itself), but never holds the whole document. The
file is read as a stream: the top-level values are parsed one by one, and each element of
`changes` on its own (`json.JSONDecoder.raw_decode` over a buffer of about a MiB), re-encoded as
one compact line and spilled to an unnamed temp file. Only the offset of each line and a byte for
its action stay in memory. The checks then read the changes back from that file, as many times
as they need (they are on disk, and in the page cache), before anything is sent.

Anything the stream reader does not expect (invalid JSON, a repeated key, bytes that are not
UTF-8, text after the document) sends the whole file to `load_doc`, whose message names the
place: a bad plan is rare, and its error must read the same whichever way it was found.
"""

from __future__ import annotations

import json
import os
import tempfile
import weakref
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, overload

from amlctl.canonical import Made
from amlctl.errors import PlanFileError
from amlctl.fsio import FsError
from amlctl.jsonstream import JsonText, NotStreamable
from amlctl.plan import validation
from amlctl.plan.model import ACTION_ORDER, Action, Change, InPlanOrder, Plan, PlanHead
from amlctl.plan.serialize import (
    _change_from_doc,
    _describe,
    _no_constant,
    _unique_keys,
    from_doc,
    load_doc,
)

_SPILL = 1 << 20  # bytes of changes gathered before they are written to the temp file
# Bytes of the spilled changes read at once by a pass in plan order (about 80 changes): one
# pread per change cost a system call, and a hand-off of the GIL to the workers, each time.
_SCAN_BLOCK = 1 << 16
# A repeated key or a NaN is not streamed: `load_doc` explains it.
_STRICT = json.JSONDecoder(object_pairs_hook=_unique_keys, parse_constant=_no_constant)
_CODES = {action: code for code, action in enumerate(ACTION_ORDER)}
_LINE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True)  # dumps builds one per call


class StoredChanges(InPlanOrder):
    """The changes of a plan, one compact JSON line each in an unnamed temp file: an offset and
    an action code per change in memory. Reads are `pread`s, safe from any thread. In plan
    order once checked (`load_plan`) or put in it (`reordered`)."""

    def __init__(self) -> None:
        self._fd = unnamed_file("the plan's changes")
        # Closed with the store, or when it is collected: nothing to remember to close.
        self.close = weakref.finalize(self, os.close, self._fd)
        self._ends = array("Q", [0])  # line i is bytes _ends[i] .. _ends[i + 1]
        self._actions = array("B")  # ACTION_ORDER index; 255 when the action is not one
        self._pending: list[bytes] = []
        self._pending_size = 0

    def append(self, change: object) -> None:
        """Add the change document `change` (any JSON value until the plan is checked)."""
        action = change.get("action") if isinstance(change, dict) else None
        self._append_line(_LINE.encode(change).encode("ascii"), _action_code(action))

    def _append_line(self, line: bytes, action_code: int) -> None:
        self._pending.append(line)
        self._pending_size += len(line)
        self._ends.append(self._ends[-1] + len(line))
        self._actions.append(action_code)
        if self._pending_size >= _SPILL:
            self.seal()

    def reordered(self, order: Iterable[int]) -> StoredChanges:
        """A new store of these changes (sealed) in `order`, each index once: lines are copied
        as they are, none decoded. This store is left as it was."""
        out = StoredChanges()
        try:
            for index in order:
                start, end = self._ends[index], self._ends[index + 1]
                out._append_line(os.pread(self._fd, end - start, start), self._actions[index])
            out.seal()
        except OSError as error:
            out.close()
            raise temp_file_error("the plan's changes", error) from None
        except BaseException:
            out.close()
            raise
        return out

    def seal(self) -> None:
        """Write what `append` buffered; call it before reading."""
        data = b"".join(self._pending)
        self._pending, self._pending_size = [], 0
        try:
            while data:
                data = data[os.write(self._fd, data) :]
        except OSError as error:
            raise temp_file_error("the plan's changes", error) from None

    def doc(self, index: int) -> Any:
        """The change document at `index`, as the plan file holds it."""
        start = self._ends[index]
        return json.loads(os.pread(self._fd, self._ends[index + 1] - start, start))

    def docs(self) -> Made:
        """Every change document, each read when asked for: `changes` for `validation`;
        a pass over all of them reads the file a block at a time."""
        return _Docs(self)

    def scan(self, indexes: Iterable[int]) -> Iterator[tuple[int, bytes]]:
        """(index, line) of each of `indexes`, which must rise: the file is read a block at
        a time, the block held by this generator only (so any thread may run its own)."""
        base, block = 0, b""
        for index in indexes:
            start, end = self._ends[index], self._ends[index + 1]
            if start < base or end > base + len(block):
                block = os.pread(self._fd, max(_SCAN_BLOCK, end - start), start)
                base = start
            yield index, block[start - base : end - base]

    def in_order(self, indexes: Iterable[int]) -> Iterator[tuple[int, Change]]:
        """(index, change) of each of `indexes` (rising), read by `scan`."""
        return ((i, _change_from_doc(json.loads(line))) for i, line in self.scan(indexes))

    def action(self, index: int) -> Action:
        return ACTION_ORDER[self._actions[index]]

    def indexes(self, *actions: Action) -> Iterator[int]:
        """The indexes of the changes with one of `actions`, without reading any of them."""
        codes = {_CODES[action] for action in actions}
        return (i for i, code in enumerate(self._actions) if code in codes)

    def summary(self) -> dict[Action, int]:
        counts = [0] * len(ACTION_ORDER)
        for code in self._actions:
            counts[code] += 1
        return dict(zip(ACTION_ORDER, counts, strict=True))

    def __len__(self) -> int:
        return len(self._actions)

    @overload
    def __getitem__(self, index: int) -> Change: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Change]: ...
    def __getitem__(self, index: int | slice) -> Change | Sequence[Change]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        return _change_from_doc(self.doc(index % len(self)))

    def __iter__(self) -> Iterator[Change]:
        return (change for _, change in self.in_order(range(len(self))))


class _Docs(Made):
    """`StoredChanges.docs`: by index as `Made` does, and read a block at a time when iterated."""

    __slots__ = ("_store",)

    def __init__(self, store: StoredChanges) -> None:
        super().__init__(range(len(store)), store.doc)
        self._store = store

    def __iter__(self) -> Iterator[Any]:
        return (json.loads(line) for _, line in self._store.scan(range(len(self._store))))

    # What the renderers ask of a plan's changes on disk (`render.wording`), answered from
    # the byte each change keeps for its action, without decoding every change: apply's brief
    # shows the counts and the deletes of a plan of 100k exports.
    def action_counts(self) -> dict[str, int]:
        """How many changes have each action (an action that is not one is not counted)."""
        codes = Counter(self._store._actions)
        return {action.value: codes[code] for code, action in enumerate(ACTION_ORDER)}

    def docs_with(self, *actions: str) -> Iterator[Any]:
        """The documents of the changes with one of `actions`, in plan order."""
        wanted = [Action(action) for action in actions]
        indexes = self._store.indexes(*wanted)
        return (json.loads(line) for _, line in self._store.scan(indexes))


def unnamed_file(what: str) -> int:
    """A temp file no other process can open, gone when closed, even after kill -9."""
    try:
        fd, name = tempfile.mkstemp(prefix="amlctl-")
        os.unlink(name)
    except OSError as error:
        raise temp_file_error(what, error) from None
    return fd


def temp_file_error(what: str, error: OSError) -> FsError:
    return FsError(
        f"cannot keep {what} in a temporary file in {tempfile.gettempdir()}: "
        f"{error.strerror}; free some space there, or point TMPDIR elsewhere"
    )


def _action_code(action: object) -> int:
    try:
        return _CODES[Action(action)]
    except ValueError:
        return 255  # the schema check names it; nothing reads it as a change before


@dataclass(frozen=True)
class StoredPlan(PlanHead):
    """A checked plan whose changes stay on disk (`StoredChanges`); the rest as in `Plan`."""

    changes: StoredChanges
    warnings: tuple[str, ...]
    digest: str
    summary: dict[Action, int]


# What apply reads of a plan: a `Plan`, or a `StoredPlan` whose changes are on disk.
PlanView = Plan | StoredPlan


@dataclass(frozen=True)
class LoadedFile:
    """A checked plan file: its plan, and its document with the changes read from disk."""

    plan: StoredPlan
    doc: dict[str, Any]


def changes_of(plan: PlanView, *actions: Action) -> Iterator[Change]:
    """The plan's changes with one of `actions`, in plan order; from disk, reading only those."""
    return (change for _, change in indexed(plan, *actions))


def indexed(plan: PlanView, *actions: Action) -> Iterator[tuple[int, Change]]:
    """`changes_of`, each change with its index in the plan."""
    changes = plan.changes
    if isinstance(changes, StoredChanges):
        return changes.in_order(changes.indexes(*actions))
    return ((i, change) for i, change in enumerate(changes) if change.action in actions)


def changes_at(changes: Sequence[Change], indexes: Sequence[int]) -> Iterator[tuple[int, Change]]:
    """(index, change) of each of `indexes` (rising); from disk a block at a time, or, for
    one index alone, its own line only (a block would be read for one change)."""
    if isinstance(changes, StoredChanges) and len(indexes) > 1:
        return changes.in_order(indexes)
    return ((index, changes[index]) for index in indexes)


def indexes_of(plan: PlanView, *actions: Action) -> Iterator[int]:
    """The indexes of the plan's changes with one of `actions`; from disk, reading none."""
    changes = plan.changes
    if isinstance(changes, StoredChanges):
        return changes.indexes(*actions)
    return (i for i, change in enumerate(changes) if change.action in actions)


def load_plan(path: Path) -> LoadedFile:
    """Read and check a plan file (every check of `serialize.load_doc`, the same errors)."""
    stored = StoredChanges()
    try:
        try:
            head = _read_stream(path, stored)
        except NotStreamable:
            stored.close()
            stored = StoredChanges()
            head = _reread_whole(path, stored)
        stored.seal()
        doc = {**head, "changes": stored.docs()} if "changes" in head else head
        found = validation.problems(doc, str(path))
        if found:
            raise PlanFileError(_describe(path, "not a valid amlctl plan", found))
        return LoadedFile(_stored_plan(doc, stored), doc)
    except BaseException:
        stored.close()
        raise


def _stored_plan(doc: Mapping[str, Any], stored: StoredChanges) -> StoredPlan:
    head = from_doc({**doc, "changes": ()})
    shared = {f.name: getattr(head, f.name) for f in fields(PlanHead)}
    return StoredPlan(
        **shared, changes=stored, warnings=head.warnings, digest=head.digest,
        summary=stored.summary(),
    )


def _reread_whole(path: Path, stored: StoredChanges) -> dict[str, Any]:
    """The whole-file reader's document (or its error), its changes moved to `stored`. Reached
    only when the stream reader refused the file, which `load_doc` then explains."""
    doc = load_doc(path)  # raises with the place of the problem: the usual case here
    changes = doc.get("changes")
    if isinstance(changes, list):
        for change in changes:
            stored.append(change)
        doc["changes"] = None  # a marker only: `load_plan` puts the stored changes there
    return doc


def _read_stream(path: Path, stored: StoredChanges) -> dict[str, Any]:
    """The top-level object of the file, its `changes` array spilled to `stored` (the key is
    kept, its value None, so the key order of the document stays the file's)."""
    try:
        stream = path.open("rb")
    except OSError:
        raise NotStreamable from None
    with stream:
        text = JsonText(stream, _STRICT)
        return _top_object(text, stored)


def _top_object(text: JsonText, stored: StoredChanges) -> dict[str, Any]:
    head: dict[str, Any] = {}
    text.expect("{")
    if text.peek() == "}":
        text.take()
    else:
        while True:
            key = text.value()
            if not isinstance(key, str) or key in head:
                raise NotStreamable
            text.expect(":")
            if key == "changes":
                if text.peek() != "[":
                    raise NotStreamable  # not an array: load_doc's schema check says so
                _spill_array(text, stored)
                head[key] = None
            else:
                head[key] = text.value()
            if text.take() == "}":
                break
            text.back(",")
    if not text.at_end():
        raise NotStreamable  # text after the document: load_doc names it
    return head


def _spill_array(text: JsonText, stored: StoredChanges) -> None:
    text.expect("[")
    if text.peek() == "]":
        text.take()
        return
    while True:
        stored.append(text.value())
        if text.take() == "]":
            return
        text.back(",")


def made_of(
    plan: PlanView, indexes: Sequence[int], make: Callable[[int, Change], Any]
) -> Made:
    """`make(index, change)` for each of `indexes` (rising), made when read (a receipt's
    items); a pass over them reads the changes from disk a block at a time."""
    return _MadeOfChanges(plan.changes, indexes, make)


class _MadeOfChanges(Made):
    __slots__ = ("_build", "_changes")

    def __init__(
        self, changes: Sequence[Change], indexes: Sequence[int],
        make: Callable[[int, Change], Any],
    ) -> None:
        super().__init__(indexes, lambda index: make(index, changes[index]))
        self._changes, self._build = changes, make

    def __iter__(self) -> Iterator[Any]:
        make = self._build
        return (make(i, change) for i, change in changes_at(self._changes, self._source))
