"""The delete order: which deletes of a plan must finish before which, from catalog data.

Two rules, both read from the catalog, never from kind names:
- a user goes before what it uses (`uses`: an image before the models in it, a service before
  its image), or the service refuses the delete (412 DeletionRequired);
- what lies under an item goes before it (`parent`: versions before their container, the
  workspace, the scope kind, last), so each delete is answered for itself instead of vanishing
  with its parent.

Pure: the planner passes the delete changes with the inventory items they act on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from amlctl.catalog import Catalog, Use
from amlctl.inventory import Inventory, Item


@dataclass(frozen=True, slots=True)
class Planned:
    """A delete the plan holds: its address and the inventory item it acts on."""

    address: str
    item: Item


def delete_order(
    catalog: Catalog, inventory: Inventory, deletes: Iterable[Planned]
) -> dict[str, tuple[str, ...]]:
    """For each planned delete (by address), the addresses of the deletes that must finish
    before it, sorted; deletes that wait for nothing map to ()."""
    planned = list(deletes)
    if not planned:  # an export plan: no index of every item, at the plan's biggest moment
        return {}
    by_item = {(p.item.workspace, p.item.kind, p.item.id): p.address for p in planned}
    items = _index(inventory)
    after: dict[str, set[str]] = {p.address: set() for p in planned}
    keyed = _keyed(catalog, planned)
    for delete in planned:
        kind = catalog.kind(delete.item.kind)
        for target in _referred(keyed, kind.uses, delete):
            after[target].add(delete.address)  # the user goes first
        for maker in _referred(keyed, kind.made_by, delete):
            after[delete.address].add(maker)  # the maker goes first
        holder = _holder(catalog, items, by_item, delete.item)
        if holder is not None:
            after[holder].add(delete.address)
    return {address: tuple(sorted(before)) for address, before in after.items()}


@dataclass(frozen=True)
class Blocker:
    """Why the service would refuse a delete: `users` that stay (the plan keeps them), or,
    when `kept` is False, users whose own delete is blocked; `held`: items under it that stay,
    where the service deletes only an empty item (an experiment that holds others' runs)."""

    users: tuple[Item, ...]
    kept: bool = True
    held: tuple[Item, ...] = ()


def blocked(
    catalog: Catalog, inventory: Inventory, deletes: Iterable[Planned]
) -> dict[str, Blocker]:
    """The planned deletes the service would refuse, by address: an item that uses the item
    stays (`uses`), something stays under an item the service deletes only once empty
    (`only_empty`), or such an item's own delete is blocked. Otherwise what lies under an
    item does not block it: a parent's delete takes its children along."""
    planned = list(deletes)
    by_item = {_key(p.item): p for p in planned}
    found: dict[str, Blocker] = {}
    for delete in planned:
        kept = tuple(u for u in users(catalog, inventory, delete.item) if _key(u) not in by_item)
        under = held_under(catalog, inventory, delete.item)
        held = tuple(c for c in under if _key(c) not in by_item)
        if kept or held:
            found[delete.address] = Blocker(kept, held=held)
    grew = True
    while grew:  # a delete waiting on a blocked delete of what keeps it is blocked as well
        grew = False
        for delete in planned:
            if delete.address in found:
                continue
            waiting_users = _blocked_among(users(catalog, inventory, delete.item), by_item, found)
            waiting_held = _blocked_among(
                held_under(catalog, inventory, delete.item), by_item, found
            )
            if waiting_users or waiting_held:
                found[delete.address] = Blocker(waiting_users, kept=False, held=waiting_held)
                grew = True
    return found


def _blocked_among(
    items: Iterable[Item],
    by_item: Mapping[tuple[str, str, str], Planned],
    found: Mapping[str, Blocker],
) -> tuple[Item, ...]:
    """Those of `items` whose planned delete is blocked."""
    return tuple(i for i in items if _key(i) in by_item and by_item[_key(i)].address in found)


def held_under(catalog: Catalog, inventory: Inventory, item: Item) -> list[Item]:
    """What lies directly under `item`, where its kind's delete needs it empty; else nothing."""
    kind = catalog.kind(item.kind)
    if not (kind.can("delete") and kind.op("delete").only_empty):
        return []
    return [
        child
        for under in catalog.children(kind.name)
        if not under.from_field  # its own fields (tags) are no item under it
        for child in inventory.of(item.workspace, under.name)
        if child.parent == item.id
    ]


def _key(item: Item) -> tuple[str, str, str]:
    return (item.workspace, item.kind, item.id)


def users(catalog: Catalog, inventory: Inventory, item: Item) -> Iterator[Item]:
    """The items of the inventory that use `item` (images that hold a model, ...): listed or
    looked up by id, each once (listed first), whichever of its readings names `item`."""
    using: dict[tuple[str, str], Item] = {}
    for kind, use in catalog.users_of(item.kind):
        value = use.key_of(item.id, item.fields)
        if value is None:
            continue
        known = [
            *inventory.of(item.workspace, kind.name),
            *(
                looked_up
                for (workspace, name, _), looked_up in inventory.lookups.items()
                if looked_up is not None and workspace == item.workspace and name == kind.name
            ),
        ]
        for user in known:
            if value in _ids(user.fields.get(use.field)):
                using.setdefault((user.kind, user.id), user)
    yield from using.values()


_Keyed = dict[tuple[str, str, str | None, str], str]


def _keyed(catalog: Catalog, planned: Iterable[Planned]) -> _Keyed:
    """Planned deletes by (workspace, kind, key path, key value), for every way the catalog
    refers to items of a kind (by id, or by a field such as an ARM id)."""
    refs = {
        (use.kind, use.key)
        for kind in catalog.kinds.values()
        for use in (*kind.uses, *kind.made_by)
    }
    keyed: _Keyed = {}
    for delete in planned:
        item = delete.item
        for kind_name, key in refs:
            value = Use(kind_name, "", key).key_of(item.id, item.fields)
            if kind_name == item.kind and value is not None:
                keyed[(item.workspace, kind_name, key, value)] = delete.address
    return keyed


def _referred(keyed: _Keyed, uses: Iterable[Use], delete: Planned) -> Iterator[str]:
    """The addresses of the planned deletes `delete`'s item refers to through `uses`."""
    item = delete.item
    for use in uses:
        for value in _ids(item.fields.get(use.field)):
            target = keyed.get((item.workspace, use.kind, use.key, value))
            if target is not None and target != delete.address:
                yield target


def _ids(value: object) -> list[str]:
    """A field naming one id or a list of ids, as strings; nothing for null or other shapes."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, str | int) and not isinstance(v, bool)]
    return []


def _holder(
    catalog: Catalog,
    items: Mapping[tuple[str, str, str], Item],
    by_item: Mapping[tuple[str, str, str], str],
    item: Item,
) -> str | None:
    """The nearest planned delete of an item `item` lies under, climbing its parents; where a
    parent is not in the inventory, the climb goes on to the scope item (the workspace)."""
    kind = catalog.kind(item.kind)
    parent_id: str | None = item.parent
    while kind.parent is not None:
        parent = catalog.kind(kind.parent)
        if parent.scope:
            parent_id = item.workspace  # the workspace's id is its name
        if parent_id is not None:
            address = by_item.get((item.workspace, parent.name, parent_id))
            if address is not None:
                return address
            above = items.get((item.workspace, parent.name, parent_id))
            parent_id = above.parent if above is not None else None
        kind = parent
    return None


def _index(inventory: Inventory) -> dict[tuple[str, str, str], Item]:
    found = {(i.workspace, i.kind, i.id): i for listed in inventory.items.values() for i in listed}
    found.update({key: item for key, item in inventory.lookups.items() if item is not None})
    return found
