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
    names = [ws.name for ws in manifest.workspaces]
    for selector in (*manifest.export, *manifest.delete):
        if matched[selector.label] or selector.ids is not None:
            continue  # named ids not found show as absent changes
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
