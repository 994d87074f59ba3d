"""The walk: the list and get calls of one inventory, run concurrently on worker threads."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from heapq import heappop, heappush
from sys import intern
from threading import Condition, Thread
from typing import Any

from amlctl.azure.client import Client
from amlctl.canonical import is_mapping, lookup
from amlctl.catalog import Catalog, Kind, expand
from amlctl.errors import ApiError
from amlctl.inventory.model import Fields, Inventory, Item, Values, dotted
from amlctl.inventory.needs import Needs, top_down
from amlctl.manifest import Workspace
from amlctl.subject import SubjectMatcher

Progress = Callable[[str], None]


@dataclass(eq=False)
class _Job:
    """One list call (all its pages) or one GET by id."""

    rank: tuple[int, int, int]  # stage, workspace, sequence: which failure to report first
    ws: Workspace
    kind: Kind
    parent: Item | None = None  # the item a nested list hangs off
    item_id: str | None = None  # set for a GET by id


class Walker:
    """Runs the list and get calls of one inventory on `parallelism` worker threads, without
    stage barriers.

    Each worker takes the next job from a heap, sends its requests and builds its items, then
    hands the result in and takes the next job, all under one lock that guards the walk's state
    (what is read next, what was found): no thread in between, so a finished request's worker
    starts the next one without waking another thread (a scheduling thread cost a wake-up and
    a GIL handover per request). A nested list is queued as soon as the list holding its parent
    item returns, so the workers stay busy all the way down the tree (a stage-by-stage walk
    idles while the last, often single and paged, list of a stage runs). The heap starts
    lookups first, then lists whose items have lists of their own (they unlock more work), then
    the others top down, so long chains of pages start early and leaves fill the gaps.
    """

    def __init__(
        self,
        catalog: Catalog,
        client: Client,
        needs: Needs,
        matcher: SubjectMatcher | None,
        progress: Progress | None,
    ) -> None:
        self.catalog, self.client, self.needs = catalog, client, needs
        self.matcher, self.progress = matcher, progress
        self.order = top_down(catalog, needs.listed)
        self.rank = {kind.name: rank for rank, kind in enumerate(self.order)}
        self.children = {k.name: [c for c in self.order if c.parent == k.name] for k in self.order}
        # Subject-only kinds are listed only under the subject's items, once the kind they reach
        # her through (runs) says which: kind name -> that kind.
        self.via = _narrowed(catalog, self.order, needs) if matcher is not None else {}
        # Guards everything below; idle workers wait on it for a job.
        self.lock = Condition()
        self.ready: list[tuple[tuple[int, int, int], _Job]] = []  # a heap, by _priority
        self.running = 0  # jobs taken by a worker and not handed in yet
        self.stopping = False  # interrupted: start nothing more
        self.results: dict[tuple[str, str, int | None], list[Item]] = {}
        self.lookups: dict[tuple[str, str, str], Item | None] = {}
        self.found: dict[tuple[str, str], list[Item]] = {}
        self.pending: Counter[tuple[str, str]] = Counter()
        self.lists: Counter[str] = Counter()
        self.waiting: dict[tuple[str, str], tuple[Workspace, Kind]] = {}
        self.failures: list[tuple[tuple[int, int, int], BaseException]] = []
        self.gone: list[tuple[str, str]] = []  # appended from workers; list.append is atomic
        self.workspaces: list[Workspace] = []
        self.field_names: dict[str, set[str]] = {name: set() for name in catalog.kinds}
        self.paths: dict[tuple[str, ...], tuple[str, ...]] = {}  # see _item
        self.announced = 0  # kinds of self.order whose number of lists has been said
        self.sequence = 0

    def run(self, workspaces: Sequence[Workspace], parallelism: int) -> Inventory:
        """Read everything, then lay the items out as a stage-by-stage walk would."""
        self.workspaces = list(workspaces)
        with self.lock:
            self._start()
        workers = [
            Thread(target=self._work, name=f"inventory_{number}") for number in range(parallelism)
        ]
        for worker in workers:
            worker.start()
        try:
            for worker in workers:
                worker.join()
        finally:  # interrupted: the requests under way end, no other starts
            with self.lock:
                self.stopping = True
                self.lock.notify_all()
            for worker in workers:
                worker.join()
        if self.failures:
            raise min(self.failures, key=lambda failure: failure[0])[1]
        return self._assemble()

    def _work(self) -> None:
        """One worker: take the next job, run it, hand its outcome in; until no job is left
        and none is running (or one failed: fail fast, what waits never starts)."""
        while True:
            with self.lock:
                job = self._take()
            if job is None:
                return
            try:
                result, error = self._run_job(job), None
            except BaseException as caught:  # handed in; `run` raises the first failure
                result, error = None, caught
            with self.lock:
                self.running -= 1
                try:
                    self._finish(job, result, error)
                except BaseException as caught:  # a worker never dies leaving others waiting
                    self.failures.append((job.rank, caught))
                if self.ready and not self.failures:  # this worker takes one of them itself
                    self.lock.notify(len(self.ready) - 1)
                elif not self.running or self.failures:
                    self.lock.notify_all()  # the walk is over: every idle worker may leave

    def _take(self) -> _Job | None:
        """The next job to run (None when the walk is over), waiting for one if others run."""
        while not (self.failures or self.stopping):
            if self.ready:
                self.running += 1
                return heappop(self.ready)[1]
            if not self.running:
                return None
            self.lock.wait()
        return None

    def _run_job(self, job: _Job) -> Any:
        if job.item_id is not None:
            return self._get(job.ws, job.kind, job.item_id, job.ws.scope_values())
        return self._list(job.ws, job.kind, job.parent)

    def _start(self) -> None:
        for ws in self.workspaces:
            for kind, item_id in self._looked_up(ws):
                self._submit(_Job((-1, self._index(ws), self._next()), ws, kind, item_id=item_id))
        for kind in self.order:
            parent = self.catalog.kinds.get(kind.parent) if kind.parent else None
            for ws in self.workspaces:
                if parent is None or parent.scope:
                    self._submit(self._job(ws, kind, None))
                elif kind.name in self.via and parent is not self.via[kind.name]:
                    self.waiting[(ws.name, kind.name)] = (ws, kind)
        self._release()
        self._announce()

    def _looked_up(self, ws: Workspace) -> list[tuple[Kind, str]]:
        """The GETs by id in `ws`: the workspace itself, and named items of id-only kinds."""
        jobs = []
        for kind_name, ids in sorted(self.needs.looked_up.items()):
            kind = self.catalog.kind(kind_name)
            jobs += [(kind, item_id) for item_id in ([ws.name] if kind.scope else sorted(ids))]
        return jobs

    def _submit(self, job: _Job) -> None:
        if job.item_id is None:
            self.pending[(job.ws.name, job.kind.name)] += 1
            self.lists[job.kind.name] += 1
        heappush(self.ready, (self._priority(job), job))

    def _priority(self, job: _Job) -> tuple[int, int, int]:
        if job.item_id is not None:
            return (0, 0, job.rank[2])
        leaf = not self.children[job.kind.name]
        return (1 + leaf, job.rank[0], job.rank[2])

    def _finish(self, job: _Job, result: Any, error: BaseException | None) -> None:
        if error is not None:
            self.failures.append((job.rank, error))  # fail fast: what waits never starts
            return
        if job.item_id is not None:
            self.lookups[(job.ws.name, job.kind.name, job.item_id)] = result
            return
        items: list[Item] = result
        self.results[(job.ws.name, job.kind.name, _key(job.parent))] = items
        self.found.setdefault((job.ws.name, job.kind.name), []).extend(items)
        self.pending[(job.ws.name, job.kind.name)] -= 1
        if self.failures:
            return
        for child in self.children[job.kind.name]:
            if child.name not in self.via:
                chosen = items
            elif self.via[child.name] is job.kind:
                chosen = [item for item in items if self._subjects(job.kind, item)]
            else:
                continue  # waits for every run of the workspace, in _release
            if child.from_field:
                self._derive(job.ws, child, chosen)
                continue
            for item in chosen:
                self._submit(self._job(job.ws, child, item))
        self._release()
        self._announce()

    def _release(self) -> None:
        """Start the subject-only lists that wait for every run of their workspace, under the
        parents that hold the subject's runs (the experiments of her runs)."""
        for ws, kind in list(self.waiting.values()):
            parent, via = self.catalog.kind(kind.parent or ""), self.via[kind.name]
            if not (self._complete(ws, via) and self._complete(ws, parent)):
                continue
            del self.waiting[(ws.name, kind.name)]
            runs = self.found.get((ws.name, via.name), [])
            holding = {run.parent for run in runs if self._subjects(via, run)}
            for item in self.found.get((ws.name, parent.name), []):
                if item.id in holding:
                    self._submit(self._job(ws, kind, item))

    def _derive(self, ws: Workspace, kind: Kind, parents: list[Item]) -> None:
        """The items of a `from_field` kind (a run's tags), read off their parents: no call."""
        assert kind.from_field is not None
        for parent in parents:
            values = {**parent.values, **_child_values(kind, parent)}
            entries = kind.entries_of(parent.id, parent.fields.get(kind.from_field))
            derived = [self._item(ws, kind, data, values, parent.id) for data in entries]
            self.results[(ws.name, kind.name, _key(parent))] = derived
            self.found.setdefault((ws.name, kind.name), []).extend(derived)

    def _complete(self, ws: Workspace, kind: Kind) -> bool:
        """Whether every list of `kind` in `ws` has returned, and of every kind above it."""
        key = (ws.name, kind.name)
        if self.pending[key] or key in self.waiting:
            return False
        parent = self.catalog.kinds.get(kind.parent) if kind.parent else None
        return parent is None or parent.scope or self._complete(ws, parent)

    def _subjects(self, kind: Kind, item: Item) -> bool:
        assert self.matcher is not None
        return self.matcher.matches(kind, item.fields)

    def _assemble(self) -> Inventory:
        """Items in the order a stage-by-stage walk gives: kinds top down, workspaces in the
        manifest's order, children in their parents' order, pages in order."""
        inventory = Inventory(gone=sorted(set(self.gone)), field_names=self.field_names)
        for ws in self.workspaces:
            for kind, item_id in self._looked_up(ws):
                lookup = (ws.name, kind.name, item_id)
                inventory.lookups[lookup] = self.lookups[lookup]
        for kind in self.order:
            parent = self.catalog.kinds.get(kind.parent) if kind.parent else None
            for ws in self.workspaces:
                under: list[Item] | list[None] = (
                    [None] if parent is None or parent.scope else inventory.of(ws.name, parent.name)
                )
                keys = [(ws.name, kind.name, _key(item)) for item in under]
                if any(key in self.results for key in keys):  # a list ran here
                    listed = inventory.items.setdefault((ws.name, kind.name), [])
                    for key in keys:
                        listed.extend(self.results.get(key, ()))
        return inventory

    def _announce(self) -> None:
        """Say how many lists each kind takes, top down, once all of them are under way."""
        while self.announced < len(self.order) and not self.failures:
            kind = self.order[self.announced]
            if kind.from_field:  # read off its parents: it takes no list of its own
                self.announced += 1
                continue
            parent = self.catalog.kinds.get(kind.parent) if kind.parent else None
            if parent is not None and not all(
                self._submitted(ws, kind, parent) for ws in self.workspaces
            ):
                return
            self.announced += 1
            lists = self.lists[kind.name]
            self._say(f"listing {kind.name} ({lists} list{'s' if lists != 1 else ''})")

    def _submitted(self, ws: Workspace, kind: Kind, parent: Kind) -> bool:
        """Whether every list of `kind` in `ws` has been submitted (its number is known)."""
        waits = (ws.name, kind.name) in self.waiting
        return parent.scope or (not waits and self._complete(ws, parent))

    def _job(self, ws: Workspace, kind: Kind, parent: Item | None) -> _Job:
        return _Job((self.rank[kind.name], self._index(ws), self._next()), ws, kind, parent)

    def _index(self, ws: Workspace) -> int:
        return next(i for i, known in enumerate(self.workspaces) if known is ws)

    def _next(self) -> int:
        self.sequence += 1
        return self.sequence

    def _list(self, ws: Workspace, kind: Kind, parent: Item | None) -> list[Item]:
        values = ws.scope_values() if parent is None else _child_values(kind, parent)
        operation = kind.op("list")
        assert operation.paging is not None
        url = expand(operation, values, self.catalog.hosts)
        parent_id = parent.id if parent is not None else None
        try:
            entries = [
                data
                for page in self.client.pages(url, operation.paging, operation.query)
                for data in page
            ]
            if kind.as_one and parent_id is not None:
                # The whole list is one item (a run's metrics), named by its parent.
                whole = kind.collected(parent_id, entries)
                return [] if whole is None else [self._item(ws, kind, whole, values, parent_id)]
            return [self._item(ws, kind, data, values, parent_id) for data in entries]
        except ApiError as error:
            if error.status != 404:
                raise
            # The collection is not there (its workspace was deleted, say): nothing to select.
            self.gone.append((ws.name, kind.name))
            return []

    def _get(self, ws: Workspace, kind: Kind, item_id: str, scope: dict[str, str]) -> Item | None:
        values = {**scope, kind.id_var: item_id} if kind.id_var else dict(scope)
        url = expand(kind.op("get"), values, self.catalog.hosts)
        try:
            reply = self.client.get(url, expect=(200, 404))
        except ApiError as error:
            raise ApiError(
                error.method,
                error.url,
                error.status,
                error.code,
                f"reading {kind.name} {item_id!r}: {error}",
            ) from None
        if reply.status == 404 or not isinstance(reply.body, dict):
            return None
        return self._item(ws, kind, reply.body, scope, None)

    def _item(
        self,
        ws: Workspace,
        kind: Kind,
        data: Mapping[str, Any],
        values: Mapping[str, str],
        parent: str | None,
    ) -> Item:
        own_id = str(dotted(data, kind.id_field) or "")
        # Two containers' version "1" are two items: where ids are unique only under the
        # parent, the parent's id is part of the item's (`churn-classifier/1`).
        item_id = own_id
        if kind.id_in_parent and parent is not None:
            item_id = f"{parent}/{own_id}"
        present, kept = [], []
        for path in self.needs.fields.get(kind.name, ()):
            found, value = lookup(data, path)
            if found:
                present.append(path)
                kept.append(_shared(value))
        paths = tuple(present)
        paths = self.paths.setdefault(paths, paths)  # one tuple per set of paths
        keep = Fields(paths, tuple(kept))
        if kind.name in self.needs.described:
            self.field_names[kind.name].update(_field_names(data))  # one C call: thread-safe
        name = data.get("name") or data.get("path") or item_id
        return Item(
            ws.name,
            kind.name,
            item_id,
            intern(str(name)),
            kind.fingerprint(data),
            Values(values, kind.id_var, own_id) if kind.id_var else values,
            keep,
            parent,
        )

    def _say(self, message: str) -> None:
        if self.progress is not None:
            self.progress(message)


def _narrowed(catalog: Catalog, order: Sequence[Kind], needs: Needs) -> dict[str, Kind]:
    """Kinds listed only under the subject's items: every selector of them is about the
    subject, they reach her through a kind being listed, and they hang off that kind (artifacts
    under runs) or off its parent (metrics under the experiments that hold her runs)."""
    narrowed = {}
    for kind in order:
        link = kind.subject
        if kind.name not in needs.subject_only or link is None or link.via not in needs.listed:
            continue
        via = catalog.kind(link.via)
        if kind.parent in (via.name, via.parent):
            narrowed[kind.name] = via
    return narrowed


def _shared(value: Any) -> Any:
    """One copy of a string many items hold: ids read again as links (a metric's runId is its
    run's id), and names and users that repeat (2N metrics are named "loss" or "accuracy").
    Each page's JSON gives every one of them a string of its own; interned, they are shared."""
    return intern(value) if type(value) is str else value


def _field_names(data: Mapping[str, Any]) -> list[str]:
    """The item's field names two levels deep (`properties.computeType`): enough to tell a
    person what a misspelt `where` path could have been."""
    names = list(data)
    for key, value in data.items():
        if is_mapping(value):
            names += [f"{key}.{inner}" for inner in value]
    return names


def _key(item: Item | None) -> int | None:
    """A list's place in the walk: the identity of the item it hangs off (None at the top)."""
    return None if item is None else id(item)


def _child_values(child: Kind, parent: Item) -> Mapping[str, str]:
    """The template variables of a child list call: its parent's, and those it takes from
    its parent item (e.g. containerId), chained onto them rather than copied into a dict of
    its own (a run's artifacts are a list per run, and every item of a list holds them)."""
    values = parent.values
    for var, path in child.parent_vars.items():
        values = Values(values, var, str(parent.fields.get(path) or ""))
    return values
