"""What a plan says aloud beside its changes (its warnings): the deletes that cannot be undone,
a due date that is near or past, lists that answered 404, selectors that picked nothing, and
what the catalog cannot erase. A reviewer must never read an empty section as "nothing there"
when nothing was read, nor read a data-subject plan as an erasure of everything.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping

from amlctl.catalog import Catalog
from amlctl.inventory import Inventory
from amlctl.manifest import Manifest, Selector
from amlctl.plan.model import Action, Change

DUE_SOON_DAYS = 7


def warnings(
    manifest: Manifest,
    catalog: Catalog,
    inventory: Inventory,
    changes: Mapping[str, Change],
    matched: Counter[str],
    created: str,
) -> list[str]:
    """Every warning of a plan, in a fixed order; `created` (RFC 3339) says what day it is."""
    return [
        *_whole_workspace(catalog, changes),
        *_due(manifest, created),
        *_gone(inventory),
        *_nothing_matched(manifest, inventory, matched),
        *_ids_nowhere(manifest, catalog, inventory),
        *_not_erasable(manifest, catalog),
    ]


def shared(held: Iterable[tuple[str, str, str, str]]) -> list[str]:
    """Items that hold the subject's items and other people's (an experiment with her runs and
    a colleague's): not hers, so kept; said, so nobody reads their absence as an oversight."""
    return [
        f"{ws}: {kind} {name if name == item_id else f'{name} ({item_id})'} holds the data "
        "subject's items and other people's, so it is kept; what in it is hers is planned "
        "by itself"
        for ws, kind, item_id, name in sorted(held)
    ]


def _gone(inventory: Inventory) -> list[str]:
    """Lists that answered 404: their workspace (or parent) is gone, so nothing of them is in
    the plan. Said aloud, so a reviewer does not read an empty section as "nothing there"."""
    by_workspace: dict[str, list[str]] = {}
    for workspace, kind in inventory.gone:
        by_workspace.setdefault(workspace, []).append(kind)
    return [
        f"{ws}: listing {', '.join(kinds)} answered 404 Not Found (is the workspace gone?); "
        "nothing of those kinds is in this plan"
        for ws, kinds in by_workspace.items()
    ]


def _whole_workspace(catalog: Catalog, changes: Mapping[str, Change]) -> list[str]:
    scope = catalog.scope_kind.name
    return [
        f"this plan deletes the whole {scope} {c.id} and everything in it"
        for c in changes.values()
        if c.action is Action.DELETE and c.kind == scope
    ]


def _due(manifest: Manifest, created: str) -> list[str]:
    request = manifest.request
    if request is None:
        return []
    left = (request.due - dt.date.fromisoformat(created[:10])).days
    if left < 0:
        return [
            f"request {request.id} was due on {request.due} "
            f"({-left} day{'s' if left != -1 else ''} ago)"
        ]
    if left == 0:
        return [f"request {request.id} is due today ({request.due})"]
    if left <= DUE_SOON_DAYS:
        return [
            f"request {request.id} is due on {request.due} "
            f"(in {left} day{'s' if left != 1 else ''})"
        ]
    return []


def _nothing_matched(
    manifest: Manifest, inventory: Inventory, matched: Counter[str]
) -> list[str]:
    """Selectors that picked nothing, in any workspace. For the data subject that is an answer
    the officer records, so it says what was read to find it: a kind whose list answered 404
    somewhere was not read there, which is not the same as nothing found."""
    found = []
    for selector in (*manifest.export, *manifest.delete):
        if matched[selector.label] or selector.ids is not None:
            continue  # named ids not found show as absent changes
        names = [ws.name for ws in manifest.workspaces if selector.applies_in(ws.name)]
        unread = sorted({ws for ws, kind in inventory.gone if kind == selector.kind})
        read = [ws for ws in names if ws not in unread]
        if read:
            found.append(
                f"{selector.label}: no {selector.kind} {_what(selector)} found in "
                f"{', '.join(read)}"
            )
        if unread:
            found.append(
                f"{selector.label}: {selector.kind} not read in {', '.join(unread)} "
                "(its list answered 404), so nothing is known of it there"
            )
    return found


def _ids_nowhere(manifest: Manifest, catalog: Catalog, inventory: Inventory) -> list[str]:
    """One warning per named id that no workspace the selector applies in has: a typo, most
    likely. Under `not:` it matters most, since a misspelt id there keeps nothing back.
    Workspaces that are gone, or where the kind's list answered 404, say nothing either way
    (their own warnings say so)."""
    found = []
    scope = catalog.scope_kind.name
    for selector in (*manifest.export, *manifest.delete):
        names = [
            ws.name for ws in manifest.workspaces
            if selector.applies_in(ws.name) and (ws.name, selector.kind) not in inventory.gone
            and inventory.lookups.get((ws.name, scope, ws.name)) is not None
        ]
        for label, ids in _named_ids(selector) if names else ():
            missing = [x for x in ids if not any(_has(inventory, ws, selector.kind, x)
                                                 for ws in names)]
            if not missing:
                continue
            where = "the workspace" if len(names) == 1 else f"any of the {len(names)} workspaces"
            effect = ("so nothing is left out for it" if label.endswith(".not.ids")
                      else "shown as already absent")
            found.append(
                f"{label}: {', '.join(missing)} not found in {where} ({', '.join(names)}), "
                f"{effect}: check the spelling"
            )
    return found


def _named_ids(selector: Selector) -> list[tuple[str, tuple[str, ...]]]:
    named = [(f"{selector.label}.ids", selector.ids)]
    if selector.exclude is not None:
        named.append((f"{selector.label}.not.ids", selector.exclude.ids))
    return [(label, ids) for label, ids in named if ids]


def _has(inventory: Inventory, workspace: str, kind: str, item_id: str) -> bool:
    if inventory.lookups.get((workspace, kind, item_id)) is not None:
        return True
    return any(item.id == item_id for item in inventory.of(workspace, kind))


def _what(selector: Selector) -> str:
    return "of the data subject" if selector.subject else "matching the selector"


def _not_erasable(manifest: Manifest, catalog: Catalog) -> list[str]:
    """For a data-subject request: the kinds it reads that this catalog cannot erase, so
    nobody reads the plan (or its receipt) as an erasure of them."""
    if manifest.request is None:
        return []
    read = dict.fromkeys(s.kind for s in (*manifest.export, *manifest.delete))
    return [
        f"{name}: not erasable with catalog {catalog.name}: {catalog.kind(name).not_erasable}"
        for name in read
        if catalog.kind(name).not_erasable
    ]
