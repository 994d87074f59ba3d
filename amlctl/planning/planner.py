"""The planner: (manifest, catalog, inventory, export index) -> Plan. Pure: no network, no clock,
no file of the user's; only the laid-out changes go to an unnamed temp file, which stands in for
memory (a big plan's changes are most of what it would hold)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from itertools import pairwise

from amlctl.apply.export.paths import export_file
from amlctl.catalog import Catalog, Kind, expand
from amlctl.errors import LimitExceeded, UnknownField
from amlctl.inventory import Inventory, Item
from amlctl.manifest import Manifest, Selector, Workspace
from amlctl.plan.model import (
    Action,
    CatalogRef,
    Change,
    ExportState,
    ManifestRef,
    Plan,
    RequestInfo,
    Target,
    WorkspaceRef,
    change_sort_key,
    repeated,
)
from amlctl.plan.reading import StoredChanges
from amlctl.plan.serialize import change_doc
from amlctl.planning import notes
from amlctl.planning.calls import check_url, method_of, with_query
from amlctl.planning.graph import Planned, blocked, delete_order
from amlctl.planning.leftovers import refusal, residue
from amlctl.planning.selectors import SubjectLinks, matches
from amlctl.subject import SubjectMatcher, pseudonym


@dataclass(frozen=True)
class PlanContext:
    """What the planner is told rather than finds out: where, when, and by which version."""

    target: Target
    created: str  # RFC 3339 UTC; also "today" for due-date warnings
    amlctl_version: str
    export_index: Mapping[str, str]  # export address -> fingerprint of the item last exported
    pseudonym_key: bytes | None = None  # the user's key (userstate); None: read it when needed


def make_plan(
    manifest: Manifest, catalog: Catalog, inventory: Inventory, context: PlanContext
) -> Plan:
    """Every change apply would make, and nothing it would not."""
    return lay_out(manifest, catalog, context, decide(manifest, catalog, inventory, context))


@dataclass(frozen=True, slots=True)
class _Export:
    """An export the walk over the inventory picked, made into its `Change` by `lay_out`.
    A change's URL and file name are most of its memory; made while the whole inventory is
    still held, the two together are a big plan's peak. Made one by one after the caller let
    the inventory go, each item goes as its change comes."""

    selector: Selector
    kind: Kind
    item: Item

    @property
    def address(self) -> str:
        return _export_address(self.item)  # an export's (or unchanged item's) address


@dataclass(frozen=True)
class Decided:
    """What the inventory decides of a plan: its changes (in no order yet; exports still to be
    made, see `_Export`) and warnings. Split from `lay_out` so a caller can let the inventory
    go before the plan is laid out and written: the two are the biggest things a plan of a big
    workspace holds. `lay_out` consumes `changes`."""

    changes: list[Change | _Export]
    warnings: tuple[str, ...]


def decide(
    manifest: Manifest, catalog: Catalog, inventory: Inventory, context: PlanContext
) -> Decided:
    """The changes and warnings of the plan of `manifest` over `inventory`."""
    check_where_paths(manifest, inventory)
    picked = _Picked()
    deletes: dict[str, Planned] = {}
    matched: Counter[str] = Counter()  # selector label -> items it picked, in every workspace
    shared: set[tuple[str, str, str, str]] = set()  # holders of her items and others', kept
    for workspace in manifest.workspaces:
        found = _workspace_changes(
            manifest, catalog, inventory, workspace, context, matched, shared
        )
        for change, item in found:
            picked.add(change)
            if isinstance(change, Change) and change.action is Action.DELETE and item:
                deletes.setdefault(change.address, Planned(change.address, item))
    made = picked.made  # every delete: what the graph and the notes look at
    refused = blocked(catalog, inventory, deletes.values())
    for address, before in delete_order(catalog, inventory, deletes.values()).items():
        if address in refused:
            made[address] = refusal(made[address], refused[address])
        else:
            kept = tuple(b for b in before if b not in refused)
            made[address] = replace(made[address], after=kept)
    for change in residue(catalog, made, deletes):
        picked.add(change)
    warnings = (
        *notes.warnings(manifest, catalog, inventory, made, matched, context.created),
        *notes.shared(shared),
    )
    return Decided([*made.values(), *picked.exports()], tuple(warnings))


class _Picked:
    """The changes `decide` picked, the first at each address. The exports still to be made
    are most of a big plan's, and they are kept by the strings their items hold (workspace
    and kind, then id), not by an address string made for each: 112 bytes apiece, at the
    moment the plan holds the most (the whole inventory, and all it picked)."""

    def __init__(self) -> None:
        self.made: dict[str, Change] = {}  # by address
        self._exports: dict[tuple[str, str], dict[str, _Export]] = {}

    def add(self, change: Change | _Export) -> None:
        """Keep `change` unless one at its address came first."""
        if isinstance(change, _Export):
            item = change.item
            ids = self._exports.setdefault((item.workspace, item.kind), {})
            if item.id not in ids and change.address not in self.made:
                ids[item.id] = change
            return
        address = change.address
        if address not in self.made and not (
            change.phase == "export"
            and change.id in self._exports.get((change.workspace, change.kind), ())
        ):
            self.made[address] = change

    def exports(self) -> Iterator[_Export]:
        for ids in self._exports.values():
            yield from ids.values()


def lay_out(
    manifest: Manifest, catalog: Catalog, context: PlanContext, decided: Decided
) -> Plan:
    """The plan of `decided`: its changes in plan order, with what names the manifest, the
    catalog and the request; refused past the manifest's limits."""
    plan = Plan(
        amlctl_version=context.amlctl_version,
        created=context.created,
        name=manifest.name,
        manifest=ManifestRef(manifest.path, manifest.sha256),
        catalog=CatalogRef(catalog.name, catalog.sha256, catalog.scope_kind.name),
        target=context.target,
        request=_request(manifest, context.pseudonym_key),
        workspaces=tuple(_workspace_ref(ws) for ws in manifest.workspaces),
        export_to=manifest.export_to,
        max_deletes=manifest.max_deletes,
        changes=_made(decided.changes, catalog, context),
        warnings=decided.warnings,
    )
    _check_limits(manifest, plan)
    return plan


def _made(
    decided: list[Change | _Export], catalog: Catalog, context: PlanContext
) -> StoredChanges:
    """Every change of `decided`, in plan order, on disk: each is made (its export, if it is
    one), written to a temp file and let go, so the plan never holds them all; only their
    sort keys stay until they are sorted. Each leaves `decided` as it is made, so its item
    (and, once the caller let the inventory go, the memory it held) goes too."""
    made = StoredChanges()
    try:
        keys: list[tuple[str, int, str, str, str]] = []
        while decided:
            change = decided.pop()
            if isinstance(change, _Export):
                change = _change(change.selector, change.kind, catalog, change.item, context)
            made.append(change_doc(change))
            keys.append(change_sort_key(change))
        made.seal()
        _refuse_duplicates(keys)
        order = sorted(range(len(keys)), key=keys.__getitem__)
        del keys
        return made.reordered(order)
    finally:
        made.close()


def _refuse_duplicates(keys: list[tuple[str, int, str, str, str]]) -> None:
    """No two changes share an address (phase, workspace, kind, id: all but the action of
    their sort keys). Compared by hash, a machine word each; the few that share one by the
    addresses themselves."""
    def address(key: tuple[str, int, str, str, str]) -> tuple[str, str, str, str]:
        return key[4], key[0], key[2], key[3]

    hashes = sorted(hash(address(key)) for key in keys)
    shared = {a for a, b in pairwise(hashes) if a == b}
    del hashes
    if not shared:
        return
    twice = repeated(
        "{}:{}/{}/{}".format(*address(key)) for key in keys if hash(address(key)) in shared
    )
    if twice:
        raise ValueError(f"duplicate change addresses: {', '.join(twice[:5])}")


def check_where_paths(manifest: Manifest, inventory: Inventory) -> None:
    """Every field a `where` tests is one that some listed item of the kind has; else the
    path is misspelt (`runIdd`), and the plan is refused naming it and the fields there are."""
    for selector in (*manifest.export, *manifest.delete):
        tested = [c.path for c in selector.conditions if c.test != "absent"]
        if not tested:
            continue
        items = [
            item
            for (_, kind), listed in inventory.items.items()
            if kind == selector.kind
            for item in listed
        ]
        for path in tested:
            if items and not any(path in item.fields for item in items):
                names = ", ".join(sorted(inventory.field_names.get(selector.kind, ())))
                raise UnknownField(
                    f"{manifest.path}: {selector.label}.where.{path}: no {selector.kind} item "
                    f"has a field {path!r} (its items have: {names or 'no fields'}); check "
                    "the spelling, or test for a missing field with {absent: true}"
                )


def _workspace_changes(
    manifest: Manifest,
    catalog: Catalog,
    inventory: Inventory,
    ws: Workspace,
    context: PlanContext,
    matched: Counter[str],
    shared: set[tuple[str, str, str, str]],
) -> Iterator[tuple[Change | _Export, Item | None]]:
    """Each change of one workspace (its exports still to be made), with the inventory item
    it acts on (None for absent items and manual steps)."""
    through = {name: inventory.of(ws.name, name) for name in catalog.linked_through}
    subject = SubjectLinks(SubjectMatcher.for_request(manifest.request), catalog, through)
    subject.shared = shared
    for selector in (*manifest.delete, *manifest.export):
        if not selector.applies_in(ws.name):
            continue
        kind = catalog.kind(selector.kind)
        found, missing = _selected(selector, kind, catalog, inventory, ws, subject)
        candidates = _candidates(selector, kind, inventory, ws, subject)
        # What the selector accounted for: picked, candidates, named ids shown absent.
        matched[selector.label] += len(found) + len(candidates) + len(missing)
        for item in found:
            if selector.section == "delete":
                yield _change(selector, kind, catalog, item, context), item
            else:
                yield _Export(selector, kind, item), item
        for item in candidates:
            change = _change(selector, kind, catalog, item, context)
            yield _candidate(change, selector, kind, item), item
        for item_id in missing:
            yield _absent(selector, kind, catalog, ws, item_id), None
    for step in catalog.manual:
        if (step.action == "export" and manifest.export) or (
            step.action == "delete" and manifest.delete
        ):
            yield Change(
                workspace=ws.name,
                kind="manual",
                id=step.id,
                action=Action.MANUAL,
                reason=f"{step.action} step with no API",
                title=step.title,
                instructions=step.instructions,
            ), None


def _selected(
    selector: Selector,
    kind: Kind,
    catalog: Catalog,
    inventory: Inventory,
    ws: Workspace,
    subject: SubjectLinks,
) -> tuple[list[Item], list[str]]:
    """Items the selector picks, and explicitly named ids that do not exist.

    A named id exists when the pool holds it (the kind's list, or its lookups where the kind
    was read by id): one the selector's other criteria leave out is simply not picked."""
    if kind.scope:
        if selector.section == "delete" and selector.confirm != ws.name:
            return [], []
        item = inventory.lookups.get((ws.name, kind.name, ws.name))
        return ([item], []) if item else ([], [ws.name])
    if (ws.name, kind.name) in inventory.items:
        pool = inventory.of(ws.name, kind.name)
    else:
        pool = [
            i
            for i in (inventory.lookups.get((ws.name, kind.name, x)) for x in selector.ids or ())
            if i is not None
        ]
    found = [item for item in pool if matches(selector, kind, item, subject)]
    present = {item.id for item in pool}
    missing = [x for x in selector.ids or () if x not in present]
    return found, missing


def _change(
    selector: Selector, kind: Kind, catalog: Catalog, item: Item, context: PlanContext
) -> Change:
    reason = sys.intern(f"{selector.label}: {_criteria(selector)}")  # one per selector, not item
    if selector.section == "delete":
        op = kind.op("delete")
        mode = op.modes[selector.mode] if selector.mode else None
        url = expand(op, item.values, catalog.hosts)
        check = check_url(kind, catalog, item, url)
        return Change(
            workspace=item.workspace,
            kind=kind.name,
            id=item.id,
            name=item.name,
            action=Action.DELETE,
            method=method_of(op.method),
            url=with_query(url, mode.query) if mode else url,
            fingerprint=item.fingerprint,
            long_running=op.long_running,
            check=check,
            body=op.body_for({**item.fields, **item.values}) if op.body is not None else None,
            erasure=mode.erasure if mode else op.erasure,
            reason=f"{reason}; {mode.name}: {mode.description}" if mode else reason,
        )
    # Kinds with no get call (experiments, artifacts) are re-read from their list at apply
    # time, and those read off a parent (a run's tags) from the parent's get.
    if kind.from_field and kind.parent:
        op = catalog.kind(kind.parent).op("get")
    else:
        op = kind.op("get") if kind.can("get") else kind.op("list")
    file = export_file(item.workspace, kind.name, item.id)
    known = context.export_index.get(_export_address(item))
    action = Action.UNCHANGED if known == item.fingerprint else Action.EXPORT
    state: ExportState | None = None
    if action is Action.EXPORT:
        state = "changed" if known else "new"
    return Change(
        workspace=item.workspace,
        kind=kind.name,
        id=item.id,
        name=item.name,
        action=action,
        method=method_of(op.method),
        url=expand(op, item.values, catalog.hosts),
        fingerprint=item.fingerprint,
        export_state=state,
        file=file,
        reason=reason,
    )


def _candidates(
    selector: Selector, kind: Kind, inventory: Inventory, ws: Workspace, subject: SubjectLinks
) -> list[Item]:
    """Items a subject selector would pick if a display name were proof: hers by name only."""
    if not selector.subject or kind.subject is None or kind.subject.display_name is None:
        return []
    return [
        item
        for item in inventory.of(ws.name, kind.name)
        if not matches(selector, kind, item, subject)
        and matches(replace(selector, subject=False), kind, item, subject)
        and subject.candidate(kind, item)
    ]


def _candidate(change: Change, selector: Selector, kind: Kind, item: Item) -> Change:
    """A display-name match: acted on where the selector accepts them (`byDisplayName`), else
    shown as a candidate for a person to review, and left alone."""
    assert kind.subject is not None and kind.subject.display_name is not None
    named = f"created by {item.fields.get(kind.subject.display_name)!r}"
    if selector.by_display_name:
        return replace(change, reason=f"{change.reason}; {named}: a display-name match, reviewed")
    return replace(
        change,
        action=Action.CANDIDATE,
        export_state=None,
        file=None,
        long_running=False,
        reason=f"{named}, a display name only (not unique); if it is hers, add "
        f"byDisplayName: true to {selector.label}",
    )


def _export_address(item: Item) -> str:
    """The address the export index keys this item by: its export change's address."""
    return f"export:{item.workspace}/{item.kind}/{item.id}"


def _absent(
    selector: Selector, kind: Kind, catalog: Catalog, ws: Workspace, item_id: str
) -> Change:
    what = f"{catalog.scope_kind.name} not found" if kind.scope else "explicit id not found"
    # The method keeps the change in its phase (export or delete), so an id named in both
    # selections gives one absent change per phase, each with a unique address.
    method = method_of(kind.op("delete").method) if selector.section == "delete" else "GET"
    return Change(
        workspace=ws.name,
        kind=kind.name,
        id=item_id,
        action=Action.ABSENT,
        method=method,
        reason=f"{selector.label}: {what}",
    )


def _criteria(selector: Selector) -> str:
    parts = []
    if selector.all:
        parts.append("all")
    if selector.confirm:
        parts.append(f"confirmed {selector.confirm}")
    if selector.ids is not None:
        parts.append("listed id")
    if selector.name:
        parts.append(f"name {selector.name}")
    parts += [f"{c.path} {c.test} {json.dumps(c.value)}" for c in selector.where]
    if selector.subject:
        parts.append("the data subject's")
    if selector.exclude is not None:
        parts.append(f"except {_criteria(selector.exclude)}")
    return ", ".join(parts)


def _request(manifest: Manifest, key: bytes | None) -> RequestInfo | None:
    request = manifest.request
    if request is None:
        return None
    return RequestInfo(request.id, request.received, request.due, pseudonym(request, key))


def _workspace_ref(ws: Workspace) -> WorkspaceRef:
    return WorkspaceRef(ws.subscription_id, ws.resource_group, ws.name, ws.location)


def _check_limits(manifest: Manifest, plan: Plan) -> None:
    deletes = plan.summary[Action.DELETE]
    if manifest.max_deletes is not None and deletes > manifest.max_deletes:
        raise LimitExceeded(
            f"{manifest.path}: the plan would delete {deletes} items, more than "
            f"limits.maxDeletes ({manifest.max_deletes}); narrow the selectors "
            "or raise the limit"
        )
