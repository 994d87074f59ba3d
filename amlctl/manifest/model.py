"""A validated manifest, as frozen values."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Subject:
    """The data subject: who the request is about."""

    user_object_id: str | None
    user_name: str | None
    display_names: tuple[str, ...] = ()  # every display name they had; userName is one

    @property
    def names(self) -> tuple[str, ...]:
        """The display names an item may name the subject by (candidates, never proof)."""
        given = (self.user_name,) if self.user_name else ()
        return tuple(dict.fromkeys((*given, *self.display_names)))


@dataclass(frozen=True)
class Request:
    """The GDPR data-subject request a manifest answers."""

    id: str
    received: dt.date
    due: dt.date
    subject: Subject


@dataclass(frozen=True)
class Workspace:
    subscription_id: str
    resource_group: str
    name: str
    location: str

    def scope_values(self) -> dict[str, str]:
        """The catalog's scope variables for this workspace."""
        return {
            "subscriptionId": self.subscription_id,
            "resourceGroupName": self.resource_group,
            "workspaceName": self.name,
            "location": self.location,
        }


@dataclass(frozen=True)
class Condition:
    """One test on a dot path of a listed item: equals, glob, regex, in, before or after."""

    path: str
    test: str
    value: object


@dataclass(frozen=True)
class Selector:
    """Which items of one kind; the criteria given combine with AND."""

    section: str  # "export" | "delete"
    index: int  # position in its section's `select` list, for messages and plan reasons
    kind: str
    ids: tuple[str, ...] | None = None
    name: str | None = None
    where: tuple[Condition, ...] = ()
    subject: bool = False
    by_display_name: bool = False  # act on display-name matches too (reviewed candidates)
    all: bool = False
    confirm: str | None = None
    mode: str | None = None  # a delete mode the catalog offers (purge), else its default
    workspace: str | None = None  # only in this workspace (by name); None: in every one
    exclude: Selector | None = None  # `not:`: what these criteria select is left out

    @property
    def label(self) -> str:
        return f"{self.section}.select[{self.index}]"

    @property
    def conditions(self) -> tuple[Condition, ...]:
        """Every field test, the exclusion's too: each path must be read, and must exist
        (a misspelt path under `not:` would leave nothing out, widening a delete)."""
        return self.where + (self.exclude.where if self.exclude else ())

    @property
    def names_subject(self) -> bool:
        """Whether the data subject's items must be known to apply it (`subject: true`,
        here or under `not:`)."""
        return self.subject or bool(self.exclude and self.exclude.subject)

    def applies_in(self, workspace: str) -> bool:
        return self.workspace is None or self.workspace == workspace


@dataclass(frozen=True)
class Manifest:
    path: str
    sha256: str
    name: str
    catalog: str  # built-in name, or a path resolved against the manifest's folder
    workspaces: tuple[Workspace, ...]
    request: Request | None = None
    export_to: str | None = None
    export: tuple[Selector, ...] = ()
    delete: tuple[Selector, ...] = ()
    max_deletes: int | None = None
