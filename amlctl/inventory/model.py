"""The inventory as values: small views of the items a plan may select."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import FrozenInstanceError, dataclass, field
from typing import Any

from amlctl.canonical import compact_fingerprint, dotted, full_fingerprint

__all__ = ["Fields", "Inventory", "Item", "Values", "dotted"]


class Values(Mapping[str, str]):
    """An item's template variables: those of the list it came from, shared by every item of
    that list rather than copied into each (a dict of six scope and parent variables per item
    was a third of the inventory), and its own id variable."""

    __slots__ = ("_base", "_key", "_value")

    def __init__(self, base: Mapping[str, str], key: str, value: str) -> None:
        self._base, self._key, self._value = base, key, value

    def __getitem__(self, key: str) -> str:
        return self._value if key == self._key else self._base[key]

    # Mapping's own `in` and get() go through __getitem__ and a KeyError: every URL a plan
    # expands asks both of each of its variables.
    def __contains__(self, key: object) -> bool:
        return key == self._key or key in self._base

    def get(self, key: str, default: Any = None) -> Any:
        return self._value if key == self._key else self._base.get(key, default)

    def __iter__(self) -> Iterator[str]:  # the order of {**base, key: value}
        yield from self._base
        if self._key not in self._base:
            yield self._key

    def __len__(self) -> int:
        return len(self._base) + (self._key not in self._base)

    def __repr__(self) -> str:
        return repr(dict(self))

    def parts(self) -> tuple[Mapping[str, str], str, str]:
        """What it is made of: the list's values, its own variable and that one's value."""
        return self._base, self._key, self._value


class Fields(Mapping[str, Any]):
    """The dot paths an item carries, of those selectors and links read, and their values: a
    tuple of values beside a tuple of paths shared by every item that has the same ones (a
    dict of one field is 192 bytes, most of a metric's or an artifact's whole item)."""

    __slots__ = ("_paths", "_values")

    def __init__(self, paths: tuple[str, ...], values: tuple[Any, ...]) -> None:
        self._paths, self._values = paths, values

    def __getitem__(self, key: str) -> Any:
        if key not in self._paths:
            raise KeyError(key)
        return self._values[self._paths.index(key)]

    def get(self, key: str, default: Any = None) -> Any:
        return self._values[self._paths.index(key)] if key in self._paths else default

    def __contains__(self, key: object) -> bool:
        return key in self._paths

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def parts(self) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        """What it is made of: the paths (shared) and their values, in the same order."""
        return self._paths, self._values

    def __repr__(self) -> str:
        return repr(dict(self))


class Item:
    """What the planner needs of one listed or fetched item.

    A plan of a big workspace holds one per item it read until its changes are made, so an
    item keeps the parts of its views rather than the views: `values` and `fields` are made
    when asked for from tuples and mappings other items share, and a `sha256:` fingerprint is
    kept as its 32-byte digest (a view each, and the 120-byte hex string, were 135 of the
    ~540 bytes an item held). Immutable, compared by what it holds, like the frozen
    dataclass it was."""

    __slots__ = (
        "_base",
        "_kept",
        "_key",
        "_paths",
        "_print",
        "_value",
        "id",
        "kind",
        "name",
        "parent",
        "workspace",
    )
    workspace: str
    kind: str
    id: str
    name: str
    parent: str | None  # id of the parent item, for nested kinds
    _print: str | bytes  # an etag's fingerprint as is, a sha256 one as its digest
    _base: Mapping[str, str]  # the list's values, or all of them with no own variable
    _key: str | None  # the item's own id variable, if its kind has one
    _value: str | None
    _paths: tuple[str, ...]  # shared by the items that have the same ones
    _kept: tuple[Any, ...]

    def __init__(
        self,
        workspace: str,
        kind: str,
        id: str,
        name: str,
        fingerprint: str,
        values: Mapping[str, str],  # template variables that address it (scope, parents, id)
        # The dot paths selectors look at, and nothing else; a path the item lacks is left
        # out (so "missing" and "null" stay apart).
        fields: Mapping[str, Any],
        parent: str | None = None,
    ) -> None:
        if isinstance(values, Values):
            base, key, value = values.parts()
        else:
            base, key, value = values, None, None
        if isinstance(fields, Fields):
            paths, kept = fields.parts()
        else:
            paths, kept = tuple(fields), tuple(fields.values())
        setter = object.__setattr__
        for slot, held in (
            ("workspace", workspace), ("kind", kind), ("id", id), ("name", name),
            ("parent", parent), ("_print", compact_fingerprint(fingerprint)), ("_base", base),
            ("_key", key), ("_value", value), ("_paths", paths), ("_kept", kept),
        ):
            setter(self, slot, held)

    @property
    def fingerprint(self) -> str:
        """`etag:<v>` or `sha256:<hex>`: what the item looked like when it was read."""
        return full_fingerprint(self._print)

    @property
    def values(self) -> Mapping[str, str]:
        if self._key is None or self._value is None:
            return self._base
        return Values(self._base, self._key, self._value)

    @property
    def fields(self) -> Mapping[str, Any]:
        return Fields(self._paths, self._kept)

    def replace(self, **changes: Any) -> Item:
        """A copy with some of its parts changed, as `dataclasses.replace` made of it."""
        return Item(**{**dict(zip(_SHOWN, self._view(), strict=True)), **changes})

    def _view(self) -> tuple[Any, ...]:
        return (self.workspace, self.kind, self.id, self.name, self.fingerprint,
                dict(self.values), dict(self.fields), self.parent)

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not Item:
            return NotImplemented
        assert isinstance(other, Item)
        return self._view() == other._view()

    __hash__ = None  # type: ignore[assignment]  # its mappings are not hashable either

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={held!r}" for name, held in zip(_SHOWN, self._view(), strict=True)
        )
        return f"Item({shown})"


_SHOWN = ("workspace", "kind", "id", "name", "fingerprint", "values", "fields", "parent")


@dataclass
class Inventory:
    """Items per (workspace, kind), and the outcome of explicit lookups by id (None = absent)."""

    items: dict[tuple[str, str], list[Item]] = field(default_factory=dict)
    lookups: dict[tuple[str, str, str], Item | None] = field(default_factory=dict)
    # (workspace, kind) whose list answered 404: the workspace (or parent) no longer exists
    gone: list[tuple[str, str]] = field(default_factory=list)
    # kind -> the field names its items had, for the kinds a `where` tests: what a misspelt
    # `where` path is told
    field_names: dict[str, set[str]] = field(default_factory=dict)
    requests: int = 0

    def of(self, workspace: str, kind: str) -> list[Item]:
        return self.items.get((workspace, kind), [])
