"""What a manifest needs read: which kinds to list, which ids to look up, which fields to keep.

Pure functions of the manifest and the catalog, decided before any request is sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from amlctl.catalog import Catalog, Kind
from amlctl.manifest import Manifest, Selector


@dataclass(frozen=True)
class Needs:
    """What a manifest needs read, per kind."""

    listed: frozenset[str]  # kinds to list (parents included)
    looked_up: Mapping[str, frozenset[str]]  # kind -> ids to GET one by one
    subject_only: frozenset[str]  # nested kinds whose parents may be limited to the subject's
    fields: Mapping[str, frozenset[str]]  # kind -> dot paths to keep on each item
    # Kinds a `where` tests: the field names their items have are kept, to tell a person
    # what a misspelt path could have been (the planner's check_where_paths).
    described: frozenset[str] = frozenset()


def needs(manifest: Manifest, catalog: Catalog) -> Needs:
    listed: set[str] = set()
    # The workspace itself is always read: a plan must know it exists (a misspelt name must
    # fail, not plan to nothing).
    looked_up: dict[str, set[str]] = {catalog.scope_kind.name: set()}
    by_kind: dict[str, list[Selector]] = {}
    for selector in (*manifest.export, *manifest.delete):
        by_kind.setdefault(selector.kind, []).append(selector)
    for name, selectors in by_kind.items():
        kind = catalog.kind(name)
        if kind.scope:
            looked_up.setdefault(name, set())
        elif by_id_alone(kind, catalog, selectors):
            looked_up.setdefault(name, set()).update(i for s in selectors for i in s.ids or ())
        else:
            listed |= with_parents(catalog, kind)
        link = kind.subject
        if link is not None and link.via and any(s.names_subject for s in selectors):
            # The subject's items of this kind are known only once hers of `via` are.
            listed |= with_parents(catalog, catalog.kind(link.via))
    for name in {s.kind for s in manifest.delete}:
        # What uses a deleted item keeps it from going: read the users too, so the plan can
        # order the deletes and say which ones the service would refuse.
        for user, _ in catalog.users_of(name):
            if user.can("list"):
                listed |= with_parents(catalog, user)
        # So does anything under an item the service deletes only once it is empty.
        kind = catalog.kind(name)
        if kind.can("delete") and kind.op("delete").only_empty:
            for child in catalog.children(name):
                if child.can("list"):
                    listed |= with_parents(catalog, child)
    subject_only = frozenset(n for n, sels in by_kind.items() if all(s.subject for s in sels))
    return Needs(
        frozenset(listed),
        {k: frozenset(v) for k, v in looked_up.items()},
        subject_only,
        fields_to_keep(catalog, by_kind),
        frozenset(s.kind for s in (*manifest.export, *manifest.delete) if s.conditions),
    )


def by_id_alone(kind: Kind, catalog: Catalog, selectors: list[Selector]) -> bool:
    """Selected by ids only, and each id can be fetched without knowing a parent."""
    only_ids = all(
        s.ids is not None and not (s.name or s.where or s.subject or s.all or s.exclude)
        for s in selectors
    )
    parent = catalog.kinds.get(kind.parent) if kind.parent else None
    top_level = parent is None or parent.scope
    return only_ids and kind.can("get") and top_level


def with_parents(catalog: Catalog, kind: Kind) -> set[str]:
    chain = set()
    current: Kind | None = kind
    while current is not None and not current.scope:
        chain.add(current.name)
        current = catalog.kinds.get(current.parent) if current.parent else None
    return chain


def fields_to_keep(
    catalog: Catalog, by_kind: Mapping[str, list[Selector]]
) -> dict[str, frozenset[str]]:
    """Dot paths each kind's items must keep: subject links, child variables, what an item
    uses, where-paths."""
    keep: dict[str, set[str]] = {name: set() for name in catalog.kinds}
    for kind in catalog.kinds.values():
        for use in (*kind.uses, *kind.made_by):
            keep[kind.name].add(use.field)
            if use.key is not None and use.kind in keep:
                keep[use.kind].add(use.key)
        link = kind.subject
        if link is not None:
            keep[kind.name] |= set(link.creator) | ({link.field} if link.field else set())
            keep[kind.name] |= {p for p in (link.display_name, link.creator_type) if p}
            if link.via and link.key:
                keep[link.via].add(link.key)
        if kind.parent and kind.parent in keep:
            keep[kind.parent] |= set(kind.parent_vars.values())
        if kind.from_field and kind.parent in keep:  # its items are read off this field
            keep[kind.parent].add(kind.from_field)
        for residue in kind.residue:  # the paths a deleted item leaves name these
            keep[kind.name] |= set(residue.fields)
    for name, selectors in by_kind.items():
        keep[name] |= {condition.path for s in selectors for condition in s.conditions}
    return {name: frozenset(paths) for name, paths in keep.items()}


def top_down(catalog: Catalog, kinds: Iterable[str]) -> list[Kind]:
    """Kinds in an order where every parent comes before its children, and the kinds others
    reach the subject through before their siblings (metrics are listed only where the
    subject's runs are, once runs are known)."""
    through = catalog.linked_through

    def order(kind: Kind) -> tuple[int, bool, str]:
        return (len(with_parents(catalog, kind)), kind.name not in through, kind.name)

    return sorted((catalog.kind(name) for name in kinds), key=order)
