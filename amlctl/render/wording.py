"""The words and symbols every renderer shares, so text and Markdown say the same thing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from amlctl.terminal import visible as visible  # renderers reach it through here

# (symbol, legend) per display state; an export splits into new and changed.
SYMBOLS: dict[str, str] = {
    "delete": "-",
    "blocked": "x",
    "candidate": "?",
    "export-new": "+",
    "export-changed": "~",
    "absent": "=",
    "unchanged": "=",
    "manual": "!",
}
LEGEND: tuple[tuple[str, str], ...] = (
    ("-", "delete"),
    ("x", "delete blocked (an item that uses it stays; apply will not send it)"),
    ("?", "candidate: names the subject by display name only; review it, apply leaves it"),
    ("+", "export (new)"),
    ("~", "export (changed since last export)"),
    ("=", "no change (already absent / export current)"),
    ("!", "manual step"),
)
LEGEND_INTRO = "Actions are shown with these symbols:"
NO_CHANGES = "No changes. Nothing to export or delete."
ACTIONS = ("delete", "blocked", "candidate", "export", "absent", "unchanged", "manual")
_ONLY_WHEN_PRESENT = {"blocked": "x", "candidate": "?"}  # rare: shown only where a plan has them


def state(change: Mapping[str, Any]) -> str:
    """The display state of a change: its action, with exports split into new and changed."""
    action = str(change.get("action"))
    if action == "export":
        return "export-changed" if change.get("export_state") == "changed" else "export-new"
    return action


def symbol(change: Mapping[str, Any]) -> str:
    """The one-character symbol of a change (see LEGEND)."""
    return SYMBOLS.get(state(change), "?")


def shown_actions(counts: Mapping[str, int]) -> tuple[str, ...]:
    """The actions a summary table shows: every one, the rare ones only where a plan has them."""
    return tuple(a for a in ACTIONS if a not in _ONLY_WHEN_PRESENT or counts.get(a))


def legend(changes: Iterable[Mapping[str, Any]]) -> tuple[tuple[str, str], ...]:
    """The legend of a plan: every symbol, the rare ones only where a change has them."""
    present = {symbol(change) for change in changes}
    rare = set(_ONLY_WHEN_PRESENT.values())
    return tuple((sym, text) for sym, text in LEGEND if sym not in rare or sym in present)


def summary_counts(doc: Mapping[str, Any]) -> dict[str, int]:
    """Counts by action, taken from the changes themselves so no renderer trusts a stale summary.
    Changes kept on disk (`plan.reading`) count their own, from the action byte each keeps."""
    counts = dict.fromkeys(ACTIONS, 0)
    changes = doc.get("changes", [])
    counted = getattr(changes, "action_counts", None)
    if counted is not None:
        return {**counts, **{a: n for a, n in counted().items() if a in counts}}
    for change in changes:
        action = change.get("action")
        if action in counts:
            counts[action] += 1
    return counts


def changes_with(doc: Mapping[str, Any], *actions: str) -> list[Mapping[str, Any]]:
    """The plan's changes with one of `actions`, in plan order; changes kept on disk read only
    those (`docs_with`), not every change to find them."""
    changes = doc.get("changes", [])
    picked = getattr(changes, "docs_with", None)
    if picked is not None:
        return list(picked(*actions))
    return [change for change in changes if change.get("action") in actions]


def summary_line(counts: Mapping[str, int]) -> str:
    """Terraform's grammar: `Plan: 12 to export, 3 to delete, 2 already absent, 1 manual step.`

    Absent, unchanged and manual counts appear only when non-zero; an empty plan says so.
    """
    if not any(counts.values()):
        return NO_CHANGES
    parts = [f"{counts['export']} to export", f"{counts['delete']} to delete"]
    if counts.get("blocked"):
        parts.append(f"{counts['blocked']} blocked")
    if counts.get("candidate"):
        parts.append(plural(counts["candidate"], "candidate"))
    if counts["absent"]:
        parts.append(f"{counts['absent']} already absent")
    if counts["unchanged"]:
        parts.append(f"{counts['unchanged']} unchanged")
    if counts["manual"]:
        parts.append(plural(counts["manual"], "manual step"))
    return "Plan: " + ", ".join(parts) + "."


def plural(count: int, noun: str) -> str:
    """`1 manual step`, `2 manual steps`."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def deletes_workspace(doc: Mapping[str, Any], change: Mapping[str, Any]) -> bool:
    """True for the delete of a whole workspace, the catalog's scope kind (the strongest
    warning any plan carries)."""
    scope = doc.get("catalog", {}).get("scope_kind")
    return change.get("action") == "delete" and change.get("kind") == scope


def name_beside_id(change: Mapping[str, Any]) -> str | None:
    """The item's name, where it tells a reviewer more than its id (an id that is a hash or a
    GUID says nothing to a person); None for a name the id already holds (`churn-model` beside
    `churn-model:1`), which would only repeat it."""
    name, item = change.get("name"), change.get("id")
    if not name or str(name) in str(item):
        return None
    return str(name)


def shorten(text: str, limit: int) -> str:
    """`text`, cut to `limit` characters with a note of how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}...(+{len(text) - limit} chars)"
