"""Read-only discovery: what exists in each workspace that a manifest could touch.

Only GETs. Lists are paged to the end; nested kinds are listed under each parent item (runs under
experiments, artifacts under runs, ...), concurrently, stage by stage from the top of the catalog
down. Where every selector of a nested kind is about the data subject, only the subject's parents
are expanded, so a subject request in a big workspace does not list every run's artifacts.

Items are kept as small views (id, name, fingerprint, the fields selectors and children need),
not whole documents, so memory stays proportional to the number of items, not their size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from amlctl.azure.client import Client
from amlctl.catalog import Catalog, Kind, expand
from amlctl.errors import ApiError
from amlctl.manifest import Manifest, Selector, Workspace
from amlctl.plan.serialize import fingerprint
from amlctl.subject import SubjectMatcher

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Item:
    """What the planner needs of one listed or fetched item."""

    workspace: str
    kind: str
    id: str
    name: str
    fingerprint: str
    values: Mapping[str, str]  # template variables that address it (scope, parents, own id)
    fields: Mapping[str, Any]  # the dot paths selectors look at, and nothing else
    parent: str | None = None  # id of the parent item, for nested kinds


@dataclass
class Inventory:
    """Items per (workspace, kind), and the outcome of explicit lookups by id (None = absent)."""

    items: dict[tuple[str, str], list[Item]] = field(default_factory=dict)
    lookups: dict[tuple[str, str, str], Item | None] = field(default_factory=dict)
    requests: int = 0

    def of(self, workspace: str, kind: str) -> list[Item]:
        return self.items.get((workspace, kind), [])


@dataclass(frozen=True)
class _Needs:
    """What a manifest needs read, per kind."""

    listed: frozenset[str]  # kinds to list (parents included)
    looked_up: Mapping[str, frozenset[str]]  # kind -> ids to GET one by one
    subject_only: frozenset[str]  # nested kinds whose parents may be limited to the subject's
    fields: Mapping[str, frozenset[str]]  # kind -> dot paths to keep on each item


def fetch(
    manifest: Manifest,
    catalog: Catalog,
    client: Client,
    *,
    parallelism: int = 10,
    progress: Progress | None = None,
) -> Inventory:
    """Read everything `manifest` may select, in every workspace it names."""
    needs = _needs(manifest, catalog)
    inventory = Inventory()
    matcher = SubjectMatcher.for_request(manifest.request)
    with ThreadPoolExecutor(max_workers=parallelism, thread_name_prefix="inventory") as pool:
        walker = _Walker(catalog, client, pool, needs, matcher, inventory, progress)
        for workspace in manifest.workspaces:
            walker.lookup(workspace)
        for kind in _top_down(catalog, needs.listed, _run_kind(catalog)):
            walker.list_kind(kind, manifest.workspaces)
    inventory.requests = client.stats.requests
    return inventory


def _needs(manifest: Manifest, catalog: Catalog) -> _Needs:
    listed: set[str] = set()
    looked_up: dict[str, set[str]] = {}
    by_kind: dict[str, list[Selector]] = {}
    for selector in (*manifest.export, *manifest.delete):
        by_kind.setdefault(selector.kind, []).append(selector)
    for name, selectors in by_kind.items():
        kind = catalog.kind(name)
        if kind.scope:
            looked_up.setdefault(name, set())
        elif _by_id_alone(kind, catalog, selectors):
            looked_up.setdefault(name, set()).update(i for s in selectors for i in s.ids or ())
        else:
            listed |= _with_parents(catalog, kind)
        if any(s.subject for s in selectors) and (kind.run_field or _parent_is_run(kind, catalog)):
            listed |= _with_parents(catalog, _run_kind(catalog))
    subject_only = frozenset(n for n, sels in by_kind.items() if all(s.subject for s in sels))
    return _Needs(
        frozenset(listed),
        {k: frozenset(v) for k, v in looked_up.items()},
        subject_only,
        _fields(catalog, by_kind),
    )


def _by_id_alone(kind: Kind, catalog: Catalog, selectors: list[Selector]) -> bool:
    """Selected by ids only, and each id can be fetched without knowing a parent."""
    only_ids = all(
        s.ids is not None and not (s.name or s.where or s.subject or s.all) for s in selectors
    )
    parent = catalog.kinds.get(kind.parent) if kind.parent else None
    top_level = parent is None or parent.scope
    return only_ids and kind.can("get") and top_level


def _with_parents(catalog: Catalog, kind: Kind) -> set[str]:
    chain = set()
    current: Kind | None = kind
    while current is not None and not current.scope:
        chain.add(current.name)
        current = catalog.kinds.get(current.parent) if current.parent else None
    return chain


def _run_kind(catalog: Catalog) -> Kind:
    """The kind whose items name their creator and that other items hang off (runs)."""
    return next(k for k in catalog.kinds.values() if k.subject_fields and catalog.children(k.name))


def _parent_is_run(kind: Kind, catalog: Catalog) -> bool:
    parent = catalog.kinds.get(kind.parent) if kind.parent else None
    return bool(parent and parent.subject_fields and not parent.scope)


def _fields(catalog: Catalog, by_kind: Mapping[str, list[Selector]]) -> dict[str, frozenset[str]]:
    """Dot paths each kind's items must keep: subject links, child variables, where-paths."""
    keep: dict[str, set[str]] = {name: set() for name in catalog.kinds}
    for kind in catalog.kinds.values():
        keep[kind.name] |= set(kind.subject_fields)
        if kind.run_field:
            keep[kind.name].add(kind.run_field)
        if kind.etag_field:
            keep[kind.name].add(kind.etag_field)
        if kind.parent and kind.parent in keep:
            keep[kind.parent] |= set(kind.parent_vars.values())
    for name, selectors in by_kind.items():
        keep[name] |= {condition.path for s in selectors for condition in s.where}
    return {name: frozenset(paths) for name, paths in keep.items()}


def _top_down(catalog: Catalog, kinds: Iterable[str], run_kind: Kind) -> list[Kind]:
    """Kinds in an order where every parent comes before its children, and runs before their
    siblings (metrics are listed only where the subject's runs are, once runs are known)."""

    def order(kind: Kind) -> tuple[int, bool, str]:
        return (len(_with_parents(catalog, kind)), kind.name != run_kind.name, kind.name)

    return sorted((catalog.kind(name) for name in kinds), key=order)


def dotted(data: Mapping[str, Any], path: str) -> Any:
    """The value at a dot path (`createdBy.userName`), or None where the path runs out."""
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


class _Walker:
    """Runs the list and get calls of one inventory on a shared thread pool."""

    def __init__(
        self,
        catalog: Catalog,
        client: Client,
        pool: ThreadPoolExecutor,
        needs: _Needs,
        matcher: SubjectMatcher | None,
        inventory: Inventory,
        progress: Progress | None,
    ) -> None:
        self.catalog, self.client, self.pool, self.needs = catalog, client, pool, needs
        self.matcher, self.inventory, self.progress = matcher, inventory, progress

    def lookup(self, workspace: Workspace) -> None:
        """GET each explicitly named item of the kinds that can be fetched by id alone."""
        jobs = []
        for kind_name, ids in sorted(self.needs.looked_up.items()):
            kind = self.catalog.kind(kind_name)
            wanted = [workspace.name] if kind.scope else sorted(ids)
            jobs += [(kind, item_id) for item_id in wanted]
        scope = workspace.scope_values()
        results = self.pool.map(lambda job: self._get(workspace, job[0], job[1], scope), jobs)
        for (kind, item_id), item in zip(jobs, results, strict=True):
            self.inventory.lookups[(workspace.name, kind.name, item_id)] = item

    def list_kind(self, kind: Kind, workspaces: Iterable[Workspace]) -> None:
        """List `kind` in every workspace, under every (relevant) parent item, concurrently."""
        jobs = [
            (ws, values, parent) for ws in workspaces for values, parent in self._parents(ws, kind)
        ]
        self._say(f"listing {kind.name} ({len(jobs)} list{'s' if len(jobs) != 1 else ''})")
        results = self.pool.map(lambda job: self._list(job[0], kind, job[1], job[2]), jobs)
        for (ws, _, _), items in zip(jobs, results, strict=True):
            self.inventory.items.setdefault((ws.name, kind.name), []).extend(items)

    def _parents(self, ws: Workspace, kind: Kind) -> list[tuple[dict[str, str], str | None]]:
        parent = self.catalog.kinds.get(kind.parent) if kind.parent else None
        if parent is None or parent.scope:
            return [(ws.scope_values(), None)]
        parents = self.inventory.of(ws.name, parent.name)
        runs_known = (ws.name, _run_kind(self.catalog).name) in self.inventory.items
        if kind.name in self.needs.subject_only and self.matcher is not None and runs_known:
            parents = self._subject_parents(ws, parent, parents)
        return [({**item.values, **_child_values(kind, item)}, item.id) for item in parents]

    def _subject_parents(self, ws: Workspace, parent: Kind, parents: list[Item]) -> list[Item]:
        """Only the parents linked to the subject: the subject's runs, or the experiments
        holding them."""
        assert self.matcher is not None
        if parent.subject_fields:
            return [item for item in parents if self.matcher.matches(parent, item.fields)]
        run_kind = _run_kind(self.catalog)
        holding = {
            run.parent
            for run in self.inventory.of(ws.name, run_kind.name)
            if self.matcher.matches(run_kind, run.fields)
        }
        return [item for item in parents if item.id in holding]

    def _list(
        self, ws: Workspace, kind: Kind, values: dict[str, str], parent: str | None
    ) -> list[Item]:
        operation = kind.op("list")
        assert operation.paging is not None
        url = expand(operation, values, self.catalog.hosts)
        return [
            self._item(ws, kind, data, values, parent)
            for page in self.client.pages(url, operation.paging)
            for data in page
        ]

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
        item_id = str(dotted(data, kind.id_field) or "")
        own = {kind.id_var: item_id} if kind.id_var else {}
        etag = dotted(data, kind.etag_field) if kind.etag_field else None
        keep = {path: dotted(data, path) for path in self.needs.fields.get(kind.name, ())}
        name = data.get("name") or data.get("path") or item_id
        return Item(
            ws.name,
            kind.name,
            item_id,
            str(name),
            fingerprint(data, etag),
            {**values, **own},
            keep,
            parent,
        )

    def _say(self, message: str) -> None:
        if self.progress is not None:
            self.progress(message)


def _child_values(child: Kind, parent: Item) -> dict[str, str]:
    """Template variables a child list call takes from its parent item (e.g. containerId)."""
    return {var: str(parent.fields.get(path) or "") for var, path in child.parent_vars.items()}
