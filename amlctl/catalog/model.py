"""The catalog as values: kinds, their operations, and the designer's manual steps."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

_VARIABLE = re.compile(r"\{([A-Za-z][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Paging:
    """How a list call pages: follow an absolute `nextLink`, or send `continuationToken` back."""

    style: str  # "next_link" | "continuation_token"
    param: str | None = None  # query parameter carrying the token back (continuation_token)


@dataclass(frozen=True)
class Operation:
    """One REST call of a kind: `list`, `get` or `delete`."""

    kind: str
    name: str
    method: str
    url: str
    anchor: str
    paging: Paging | None = None
    statuses: Mapping[int, str] = field(default_factory=dict)  # delete: status -> outcome
    long_running: bool = False
    if_match: bool = False
    doc_url: str | None = None
    note: str | None = None

    @property
    def variables(self) -> tuple[str, ...]:
        """Template variables, in order of appearance."""
        return tuple(_VARIABLE.findall(self.url))


@dataclass(frozen=True)
class Kind:
    """A resource kind (workspace, run, model, ...) and how to find, read and delete its items."""

    name: str
    description: str
    id_field: str
    operations: Mapping[str, Operation]
    scope: bool = False
    parent: str | None = None
    parent_vars: Mapping[str, str] = field(default_factory=dict)  # template var -> parent field
    id_var: str | None = None
    etag_field: str | None = None
    subject_fields: tuple[str, ...] = ()
    run_field: str | None = None
    content_field: str | None = None

    def can(self, operation: str) -> bool:
        return operation in self.operations

    def op(self, operation: str) -> Operation:
        return self.operations[operation]


@dataclass(frozen=True)
class ManualStep:
    """A step the article gives for the designer, which has no API; plans show it to a person."""

    id: str
    action: str  # "export" | "delete"
    title: str
    instructions: str
    anchor: str | None = None


@dataclass(frozen=True)
class Catalog:
    """A loaded, validated catalog."""

    name: str
    title: str
    source: str  # built-in name or the path it was read from
    sha256: str
    hosts: tuple[str, ...]
    content_hosts: tuple[str, ...]
    kinds: Mapping[str, Kind]
    manual: tuple[ManualStep, ...] = ()

    def kind(self, name: str) -> Kind:
        return self.kinds[name]

    def operations(self) -> Iterator[Operation]:
        for kind in self.kinds.values():
            yield from kind.operations.values()

    @property
    def run_kind(self) -> Kind | None:
        """The kind whose items name their creator and that other items hang off (runs): the
        way from a data subject to metrics, artifacts, models and assets."""
        return next(
            (k for k in self.kinds.values() if k.subject_fields and self.children(k.name)), None
        )

    def children(self, parent: str) -> list[Kind]:
        """Kinds listed under an item of `parent` (runs under experiments, ...)."""
        return [kind for kind in self.kinds.values() if kind.parent == parent]
