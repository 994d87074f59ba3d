"""The planner's wording of two outcomes: a delete the service would refuse, and what the
planned deletes leave where no call reaches."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import replace
from itertools import groupby

from amlctl.catalog import Catalog
from amlctl.inventory import Item
from amlctl.plan.model import Action, Change
from amlctl.planning.graph import Blocker, Planned


def residue(
    catalog: Catalog, changes: Mapping[str, Change], deletes: Mapping[str, Planned]
) -> Iterator[Change]:
    """What the planned deletes leave where no call reaches (a run's blobs), as one manual step
    per workspace and kind of residue, naming every item's exact path."""
    paths: dict[tuple[str, str], list[str]] = {}
    steps = {}
    for address, planned in deletes.items():
        if changes[address].action is not Action.DELETE:
            continue  # a blocked delete leaves the item, not residue
        for residue in catalog.kind(planned.item.kind).residue:
            key = (planned.item.workspace, residue.id)
            paths.setdefault(key, []).append(
                residue.path_of(planned.item.values, planned.item.fields)
            )
            steps[residue.id] = residue
    for (workspace, step_id), found in sorted(paths.items()):
        step = steps[step_id]
        yield Change(
            workspace=workspace,
            kind="manual",
            id=step_id,
            action=Action.MANUAL,
            reason=f"left by {len(found)} planned delete{'s' if len(found) != 1 else ''}; "
            "no API call removes it",
            title=step.title,
            instructions=f"{step.instructions} In this workspace: {', '.join(sorted(found))}",
        )


def refusal(change: Change, blocker: Blocker) -> Change:
    """A delete the service would refuse: kept in the plan, for the reviewer and the receipt,
    and never sent. The reason names the users and the selector that would delete them too."""
    named = ", ".join(f"{user.kind} {user.id}" for user in blocker.users)
    held = ", ".join(f"{item.kind} {item.id}" for item in blocker.held)
    if not blocker.kept:
        why = [f"used by {named}" if named else "", f"holds {held}" if held else ""]
        return replace(
            change,
            action=Action.BLOCKED,
            after=(),
            reason=f"{' and '.join(w for w in why if w)}, whose delete is blocked too",
        )
    if not blocker.users:
        return replace(
            change,
            action=Action.BLOCKED,
            after=(),
            reason=f"holds {held}, which this plan keeps: the service deletes this "
            f"{change.kind} only once nothing is left in it",
        )
    selectors = "; ".join(
        f"{{kind: {kind}, ids: [{', '.join(json.dumps(u.id) for u in users)}]}}"
        for kind, users in groupby(sorted(blocker.users, key=_kind_id), key=lambda u: u.kind)
    )
    return replace(
        change,
        action=Action.BLOCKED,
        after=(),
        reason=f"used by {named}, which this plan keeps; to delete it too, add "
        f"{selectors} to delete.select",
    )


def _kind_id(item: Item) -> tuple[str, str]:
    return (item.kind, item.id)
