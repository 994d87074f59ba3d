"""Whether items are still as planned, read from list answers: a few pages per collection
instead of a GET before every delete.

Plan read these items from the same lists, and a kind's fingerprint covers only fields that
read the same in its list and get answers (the catalog's `version_fields`, or its etag), so a
list answer says whether an item changed as well as its GET would. Only top-level collections
(the workspace's models, services, ...) are listed here, and only where a run deletes enough of
one collection that its pages cost fewer requests than one GET per item; the rest keep the GET.
An item the list does not show gets the GET too: "already gone" is never concluded from a list.

Exports (`SharedLists`) read items from lists too: an artifact from its run's container, and
an item of an `export_from_list` kind (whose list entry is the whole item) from its
collection's list where enough exports share it. There the list is the item's only source, so
an item it does not show is gone since plan, and is skipped.
"""

from __future__ import annotations

import threading
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from amlctl.apply import lookup
from amlctl.azure.client import Client, Reply
from amlctl.canonical import dotted
from amlctl.catalog import Catalog, Kind, expand
from amlctl.errors import ApiError
from amlctl.plan.model import Change, WorkspaceRef
from amlctl.plan.reading import changes_at

# Deletes from one collection at which listing it beats a GET each: list pages hold about 100
# items at Azure ML's services, so this stays ahead even when the collection is five times
# bigger than what is deleted from it.
LIST_FROM = 20

# A list as read: the last page's reply, and each item by id with the reply of its page.
_Read = tuple[Reply, dict[str, tuple[Reply, dict[str, Any]]]]


@dataclass(frozen=True)
class Listed:
    """An item as its collection's list shows it now, and the reply of the page it was on."""

    fingerprint: str
    reply: Reply


class ListCheck:
    """Lists each collection once, when its first delete asks; safe to share between threads."""

    def __init__(
        self,
        catalog: Catalog,
        client: Client,
        workspaces: Iterable[WorkspaceRef],
        deletes: Iterable[Change],
        *,
        list_from: int | None = None,
    ) -> None:
        self.catalog, self.client = catalog, client
        self.scopes = {ws.workspace: ws.scope_values() for ws in workspaces}
        counts = Counter((c.workspace, c.kind) for c in deletes if self._listable(c))
        least = LIST_FROM if list_from is None else list_from
        self.covered = {key for key, count in counts.items() if count >= least}
        self._lists: dict[tuple[str, str], dict[str, Listed]] = {}
        self._locks = {key: threading.Lock() for key in self.covered}

    def find(self, change: Change) -> Listed | None:
        """The item as listed now, or None when its collection is not listed here or the list
        does not show it (the caller GETs it then)."""
        key = (change.workspace, change.kind)
        if key not in self.covered:
            return None
        with self._locks[key]:  # one listing per collection, however many workers ask at once
            if key not in self._lists:
                self._lists[key] = self._read(change.workspace, self.catalog.kind(change.kind))
        return self._lists[key].get(change.id)

    def _listable(self, change: Change) -> bool:
        """Top-level items read by their own get and listed one per entry: not those read
        elsewhere than they are deleted (`check`), off a parent, or gathered whole."""
        kind = self.catalog.kinds.get(change.kind)
        if kind is None or change.check is not None or change.workspace not in self.scopes:
            return False
        if not (kind.can("list") and kind.can("get")) or kind.as_one or kind.from_field:
            return False
        parent = self.catalog.kinds.get(kind.parent) if kind.parent else None
        return parent is None or parent.scope

    def _read(self, workspace: str, kind: Kind) -> dict[str, Listed]:
        operation = kind.op("list")
        assert operation.paging is not None
        url = expand(operation, self.scopes[workspace], self.catalog.hosts)
        found: dict[str, Listed] = {}
        try:
            pages = self.client.pages_with_replies(url, operation.paging, operation.query)
            for page, reply in pages:
                for item in page:
                    found[str(dotted(item, kind.id_field))] = Listed(kind.fingerprint(item), reply)
        except ApiError:  # the collection cannot be read now: each of its deletes GETs instead
            return {}
        return found


def shares_list(kind: Kind) -> bool:
    """Whether apply may export items of `kind` one by one from a list several of them share:
    an artifact from its run's container (a kind with no get), or an `export_from_list` kind's
    item from its collection's list (a metric from its experiment's), rather than by a get,
    off a parent or gathered whole."""
    if kind.as_one or kind.from_field:
        return False
    return kind.export_from_list or not kind.can("get")


class SharedLists:
    """The export side: items of `shares_list` kinds are read from their list, and a list
    shared by several exports is read once for all of them, not once each. A kind that has a
    get is read from its list only where enough of its exports share that list to beat a GET
    each (LIST_FROM, as for deletes: a person's two metrics in an experiment of ten thousand
    are two GETs, not a hundred pages). A list is dropped once its last export has read it, so
    memory holds only the lists still in use. A list that cannot be read (after the client's
    retries) is not read again by each of its items: they all fail with its error."""

    def __init__(
        self,
        catalog: Catalog,
        exports: Iterable[tuple[int, Change]],
        *,
        list_from: int | None = None,
    ) -> None:
        self.catalog = catalog
        members: dict[str, array[int]] = {}  # each list's exports, by plan index, in plan order
        only_way: set[str] = set()  # lists of kinds with no get: their items are read there
        self._exports = 0
        for index, change in exports:
            self._exports += 1
            kind = self._sharing_kind(change)
            if kind is None or change.url is None:
                continue
            url = self.url(change)
            members.setdefault(url, array("I")).append(index)
            if not kind.can("get"):
                only_way.add(url)
        least = self._least = LIST_FROM if list_from is None else list_from
        self._members = {
            url: found for url, found in members.items() if len(found) >= least or url in only_way
        }
        self._waiting = Counter({url: len(found) for url, found in self._members.items()})
        self._lists: dict[str, _Read | ApiError] = {}  # read, or why it could not be
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def in_list_order(
        self, pairs: Iterable[tuple[int, Change]], changes: Sequence[Change], width: int
    ) -> Iterator[tuple[int, Change]]:
        """`pairs` (the exports, in plan order) with the items of each shared list together,
        `width` lists in turn: a list is read, used up and dropped before the next is read (in
        plan order a person's metrics are scattered over every experiment, and all those lists
        would be held at once), and `width` workers read `width` lists side by side rather than
        wait on one.

        The items that each wait on a request (those read on their own, and those of lists
        too short to be read for a GET's sake: a kind with no get, such as a run's artifacts,
        has a list per run) are blended in proportion with those of the long lists, which are
        written from one answer: so apply writes the files of one while the requests of the
        other are in flight, from the start to the end, rather than send every request first
        and then write every listed file with the network idle."""
        shared = bytearray(len(changes))  # a byte per change: a set would cost 60 bytes each
        for found in self._members.values():
            for index in found:
                shared[index] = 1
        short = [found for found in self._members.values() if len(found) < self._least]
        long = [found for found in self._members.values() if len(found) >= self._least]
        n_short, n_long = sum(map(len, short)), sum(map(len, long))
        n_own = self._exports - n_short - n_long
        own = (pair for pair in pairs if not shared[pair[0]])
        waiting = blend(own, self._members_of(short, changes, width), n_own, n_short)
        listed = self._members_of(long, changes, width)
        yield from blend(waiting, listed, n_own + n_short, n_long)

    @staticmethod
    def _members_of(
        groups: list[array[int]], changes: Sequence[Change], width: int
    ) -> Iterator[tuple[int, Change]]:
        # Each group's changes read in plan order (a block at a time from a plan on disk,
        # where a read each was a system call each on the thread that hands items out).
        return in_turns((changes_at(changes, group) for group in groups), width)

    def list_of(self, change: Change) -> str | None:
        """The shared list `change`'s item is read from (its `source_url` in the export
        index); None when the item is read by its own get."""
        if self._sharing_kind(change) is None:
            return None
        url = self.url(change)
        return url if url in self._waiting else None

    def url(self, change: Change) -> str:
        """The list `change`'s item would be read from."""
        return lookup.list_url(self.catalog, self.catalog.kind(change.kind), change)

    def item(
        self, client: Client, change: Change, kind: Kind, url: str
    ) -> tuple[Reply, dict[str, Any] | None]:
        """The item as list `url` (its `list_of`) shows it now (None: not there), with the
        reply of its page."""
        with self._guard:
            lock = self._locks.setdefault(url, threading.Lock())
        with lock:
            held = self._lists.get(url)
            if held is None:
                try:
                    held = _read_list(client, url, kind)
                except ApiError as error:  # after the client's retries: so for all its items
                    held = error
                self._lists[url] = held
            self._waiting[url] -= 1
            if self._waiting[url] <= 0:
                del self._lists[url]
        if isinstance(held, ApiError):  # each item fails with it; a re-run reads the list again
            raise ApiError(
                held.method, held.url, held.status, held.code, held.message, via=held.via
            )
        last, items = held
        return items.get(lookup.own_id(kind, change), (last, None))

    def _sharing_kind(self, change: Change) -> Kind | None:
        kind = self.catalog.kinds.get(change.kind)
        return kind if kind is not None and shares_list(kind) else None


_T = TypeVar("_T")
_END: Any = object()  # what `next` gives once a stream is used up (None may be an item)


def blend(first: Iterator[_T], second: Iterator[_T], n_first: int, n_second: int) -> Iterator[_T]:
    """Both streams, `n_first` and `n_second` long, taken in proportion, so that they end
    together; the rest of either once the other runs out (the counts are only a guide)."""
    taken_first = taken_second = 0
    while True:
        if taken_first * n_second <= taken_second * n_first:
            item = next(first, _END)
            if item is _END:
                yield from second
                return
            taken_first += 1
        else:
            item = next(second, _END)
            if item is _END:
                yield from first
                return
            taken_second += 1
        yield item


def in_turns(groups: Iterator[Iterable[_T]], width: int) -> Iterator[_T]:
    """The members of `groups`, one from each of `width` groups in turn; a group used up is
    replaced by the next, so at most `width` are open at once."""
    open_groups = [iter(group) for group in _take(groups, width)]
    while open_groups:
        still: list[Iterator[_T]] = []
        for group in open_groups:
            member = next(group, _END)
            if member is _END:
                still += [iter(g) for g in _take(groups, 1)]
                continue
            yield member
            still.append(group)
        open_groups = still


def _take(groups: Iterator[Iterable[_T]], count: int) -> list[Iterable[_T]]:
    return [group for _, group in zip(range(count), groups, strict=False)]


def _read_list(client: Client, url: str, kind: Kind) -> _Read:
    """Every page of `url`: the last reply, and each item by id with the reply it came in. A
    collection that is gone (its run was deleted) holds nothing."""
    operation = kind.op("list")
    assert operation.paging is not None
    found: dict[str, tuple[Reply, dict[str, Any]]] = {}
    last: Reply | None = None
    try:
        for page, reply in client.pages_with_replies(url, operation.paging, operation.query):
            last = reply
            for item in page:
                found.setdefault(str(item.get(kind.id_field)), (reply, item))
    except ApiError as error:
        if error.status != 404:
            raise
        return lookup.gone_reply(url), {}
    assert last is not None
    return last, found
