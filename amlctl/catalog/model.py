"""The catalog as values: kinds, their operations, and the designer's manual steps.

Everything amlctl knows about a kind is here, read from the catalog file: how its items are
listed, fetched and deleted, which fields identify a version of an item (its fingerprint), which
other items it uses (so they cannot go first), and how it reaches a data subject. The planner,
the inventory and the executor ask these values; none of them names a kind.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from amlctl.canonical import dotted, fingerprint


@dataclass(frozen=True)
class Paging:
    """How a list call pages: follow an absolute `nextLink`, or send `continuationToken` back
    (as a query parameter, or in the JSON body of a POST list)."""

    style: str  # "next_link" | "continuation_token" | "body_token"
    param: str | None = None  # query parameter or body field carrying the token back


@dataclass(frozen=True)
class DeleteMode:
    """Another way a delete can erase (a workspace's purge): chosen in the manifest, it adds
    `query` to the URL; `erasure` says what it leaves."""

    name: str
    query: Mapping[str, str]
    erasure: str
    description: str


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
    erasure: str | None = None  # delete: soft | hard | irreversible, where the catalog says
    modes: Mapping[str, DeleteMode] = field(default_factory=dict)
    # The JSON body sent: a POST list's query; a delete's template ({var} in its strings)
    body: Mapping[str, Any] | list[Any] | None = None
    # delete: refused while an item of a child kind is under it (run history's experiments)
    only_empty: bool = False

    @property
    def query(self) -> Mapping[str, Any] | None:
        """A POST list's JSON body (its query); None for a GET list."""
        return self.body if isinstance(self.body, Mapping) else None

    def body_for(self, values: Mapping[str, Any]) -> Any:
        """The body with each `{name}` in its strings filled from `values` (a delete's: the
        item's template variables and fields); None when the call sends no body."""
        return _filled(self.body, values)


@dataclass(frozen=True)
class Use:
    """A reference from the declaring kind's `field` (one value or a list) to items of `kind`:
    their id, or the value of their `key` field (an ARM resource id, say).

    As `uses`, an image uses the models in its `modelIds`: a used item cannot be deleted while
    a user remains, so a plan deletes users first. As `made_by`, a job names the schedule that
    made it: the maker is deleted first (else it makes more), but it does not block."""

    kind: str
    field: str
    key: str | None = None

    def key_of(self, item_id: str, fields: Mapping[str, Any]) -> str | None:
        """The value a reference to this item holds: its id, or its `key` field."""
        if self.key is None:
            return item_id
        value = fields.get(self.key)
        return None if value is None else str(value)


@dataclass(frozen=True)
class SubjectLink:
    """How items of a kind reach the data subject: they name their creator (`creator`: the
    object-id path first, then the user-name path), or they belong to an item of kind `via`
    that does: this kind's `field` holds that item's `key` (its id when `key` is None)."""

    creator: tuple[str, ...] = ()
    via: str | None = None
    field: str | None = None
    key: str | None = None
    # Where items name their creator by display name only (ARM systemData.createdBy): not
    # unique, so a match is a candidate; `creator_type` tells a User from an Application.
    display_name: str | None = None
    creator_type: str | None = None


@dataclass(frozen=True)
class Residue:
    """What deleting an item of a kind leaves where no call reaches (a run's blobs): `path`
    names it for one item, from the item's template variables (`azureml/ExperimentRun/
    dcid.{runId}/`)."""

    id: str
    title: str
    path: str
    instructions: str

    @property
    def fields(self) -> tuple[str, ...]:
        """The names the path template reads: template variables or dot paths of the item."""
        return tuple(_PLACEHOLDER.findall(self.path))

    def path_of(self, values: Mapping[str, str], fields: Mapping[str, Any]) -> str:
        return str(_filled(self.path, {**fields, **values}))


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
    id_in_parent: bool = False  # ids unique only under the parent: named `<parent id>/<id>`
    etag_field: str | None = None
    # Dot paths that identify a version of an item, the same in its list and get answers;
    # empty: the whole item as listed.
    version_fields: tuple[str, ...] = ()
    uses: tuple[Use, ...] = ()
    made_by: tuple[Use, ...] = ()
    subject: SubjectLink | None = None
    content_field: str | None = None
    not_erasable: str | None = None  # personal data this catalog cannot erase: why, and how
    # Each list under a parent is one item (a run's metrics): its entries are the item's
    # `value`, and it is gone once that list is empty.
    as_one: bool = False
    # The items are the entries of this field of each parent item (a run's tags): `parentId`,
    # `key`, `value`, named `<parent id>/<key>`; read with the parent, no list call of their own.
    from_field: str | None = None
    # The list's entries are the whole item, as its get answers it: apply exports each item
    # from its collection's list pages (read once for all of them), not by a GET each.
    export_from_list: bool = False
    residue: tuple[Residue, ...] = ()

    def can(self, operation: str) -> bool:
        return operation in self.operations

    def op(self, operation: str) -> Operation:
        return self.operations[operation]

    def etag(self, item: Mapping[str, Any]) -> str | None:
        """The item's etag, where the kind has one and the item carries it."""
        value = dotted(item, self.etag_field) if self.etag_field else None
        return value if isinstance(value, str) and value else None

    def entries_of(self, parent_id: str, found: Any) -> list[dict[str, Any]]:
        """The items a `from_field` kind takes from its field of one parent item (`found`)."""
        if not isinstance(found, Mapping):
            return []
        return [{"parentId": parent_id, "key": str(key), "value": value}
                for key, value in sorted(found.items())]

    def collected(self, item_id: str, entries: list[dict[str, Any]]) -> dict[str, Any] | None:
        """An `as_one` item from everything its list answered: None when the list is empty
        (nothing left to export or erase)."""
        return {self.id_field: item_id, "value": entries} if entries else None

    def fingerprint(self, item: Mapping[str, Any]) -> str:
        """What identifies this version of `item`: its etag, else a hash of its version
        fields. Services answer list and get with different bodies (a get adds details, live
        node counts), so only fields that both carry may count, or every item would look
        changed between plan (a list) and apply (a get)."""
        etag = self.etag(item)
        if etag is not None or not self.version_fields:
            return fingerprint(item, etag)
        return fingerprint({path: dotted(item, path) for path in self.version_fields})


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

    @property
    def scope_kind(self) -> Kind:
        """The kind that holds every other (the workspace): deleting it deletes all of them."""
        return next(kind for kind in self.kinds.values() if kind.scope)

    def subject_link(self, name: str) -> SubjectLink | None:
        """How items of kind `name` reach the data subject; None when they cannot."""
        return self.kinds[name].subject

    def users_of(self, name: str) -> list[tuple[Kind, Use]]:
        """The kinds whose items may use items of kind `name`, with the use they declare."""
        return [
            (kind, use) for kind in self.kinds.values() for use in kind.uses if use.kind == name
        ]

    @property
    def linked_through(self) -> frozenset[str]:
        """Kinds that other kinds reach the subject through (runs): their subject's items must
        be known before those of the kinds linked to them."""
        return frozenset(
            kind.subject.via for kind in self.kinds.values() if kind.subject and kind.subject.via
        )

    def operations(self) -> Iterator[Operation]:
        for kind in self.kinds.values():
            yield from kind.operations.values()

    def children(self, parent: str) -> list[Kind]:
        """Kinds listed under an item of `parent` (runs under experiments, ...)."""
        return [kind for kind in self.kinds.values() if kind.parent == parent]


# `{name}` in a template: a template variable or a dot path of the item
_PLACEHOLDER = re.compile(r"\{([\w.]+)\}")


def _filled(template: Any, values: Mapping[str, Any]) -> Any:
    """`template` with each `{name}` in its strings replaced by its value; a name without one
    stays as it is, so a gap shows instead of a guess."""
    if isinstance(template, str):
        return _PLACEHOLDER.sub(lambda m: _value_or(values.get(m.group(1)), m.group(0)), template)
    if isinstance(template, Mapping):
        return {key: _filled(value, values) for key, value in template.items()}
    if isinstance(template, list):
        return [_filled(value, values) for value in template]
    return template


def _value_or(value: Any, placeholder: str) -> str:
    return placeholder if value is None else str(value)
