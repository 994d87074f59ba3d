"""The inventory as values: small views of the items a plan may select."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from amlctl.canonical import dotted

__all__ = ["Inventory", "Item", "dotted"]


@dataclass(frozen=True)
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
    # kind -> the top-level field names its items had: what a misspelt `where` path is told
    field_names: dict[str, set[str]] = field(default_factory=dict)
    requests: int = 0

    def of(self, workspace: str, kind: str) -> list[Item]:
        return self.items.get((workspace, kind), [])
