"""The inventory as values: small views of the items a plan may select."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from amlctl.canonical import dotted

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

    def __repr__(self) -> str:
        return repr(dict(self))


@dataclass(frozen=True, slots=True)
class Item:
    """What the planner needs of one listed or fetched item."""

    workspace: str
    kind: str
    id: str
    name: str
    fingerprint: str
    values: Mapping[str, str]  # template variables that address it (scope, parents, own id)
    # The dot paths selectors look at, and nothing else; a path the item lacks is left out (so
    # "missing" and "null" stay apart).
    fields: Mapping[str, Any]
    parent: str | None = None  # id of the parent item, for nested kinds


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
