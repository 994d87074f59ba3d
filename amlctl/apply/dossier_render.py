"""The record of a request (`amlctl.apply.dossier.build`) for people: text and Markdown.

Both read the record document only, so they cannot say more or less than its JSON. Values that
came from a server (item ids, details) pass through `wording.visible` (text) or the Markdown
escapes, so an id cannot move the cursor or break a table.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from amlctl.render import wording
from amlctl.render.markdown import code

_DONE_WORDS = (
    ("exported", "exported"),
    ("unchanged", "exported earlier and current"),
    ("deleted", "deleted"),
    ("absent", "already absent"),
    ("confirmed", "manual steps confirmed"),
)
_LIMIT = 200  # characters of an address or detail shown in one cell
# Lighter than the plan's Markdown escapes: dates and paths stay readable in the raw file.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]|~#])")


def deadline_line(doc: Mapping[str, Any]) -> str:
    """`Due 2026-12-20: 18 days left (today 2026-12-02)`, or overdue, or met."""
    deadline = doc["deadline"]
    due, days, status = deadline["due"], deadline["days_left"], deadline["status"]
    if status == "met":
        return f"Due {due}: met, complete since {deadline['completed_on']}"
    if status == "late":
        return f"Due {due}: complete since {deadline['completed_on']}, after the due date"
    if status == "overdue":
        return f"Due {due}: OVERDUE by {_days(-days)} (today {doc['today']})"
    if status == "due-today":
        return f"Due {due}: due TODAY ({doc['today']})"
    soon = ", due soon" if status == "due-soon" else ""
    return f"Due {due}: {_days(days)} left{soon} (today {doc['today']})"


def text(doc: Mapping[str, Any]) -> str:
    request = doc["request"]
    lines = [
        f"Request {wording.visible(request['id'])} (subject {request['subject']}), received "
        f"{request['received'] or 'unknown'}",
        deadline_line(doc),
        f"Complete: {'yes' if doc['complete'] else 'no'}",
        *(f"  - {wording.visible(reason)}" for reason in doc["why_not"]),
        "",
        "Plans, in the order they were planned:",
    ]
    for plan in doc["plans"]:
        lines += _plan_lines(plan)
    lines += ["", "Done: " + _done_line(doc["totals"]), f"Owed: {_items(len(doc['owed']))}"]
    lines += [_item_line(item) for item in doc["owed"]]
    if doc["dropped"]:
        lines.append(f"Dropped (owed by an earlier version, in no later one): "
                     f"{_items(len(doc['dropped']))}")
        lines += [_item_line(item) for item in doc["dropped"]]
    if doc["warnings"]:
        lines += ["", "Warnings:", *(f"  - {w}" for w in doc["warnings"])]
    return "\n".join(lines) + "\n"


def _plan_lines(plan: Mapping[str, Any]) -> list[str]:
    short = plan["digest"].removeprefix("sha256:")[:12]
    where = plan["path"] + ("" if plan["in_plan_file"] else ", replaced since")
    return [
        f"  {wording.visible(plan['name'])} {short} ({wording.visible(where)})",
        f"    planned   {plan['planned'] or 'unknown (the plan file holds a later version)'}",
        f"    applied   {_applied(plan)}",
        f"    verified  {_verified(plan)}",
    ]


def _applied(plan: Mapping[str, Any]) -> str:
    applied = plan["applied"]
    if applied is None:
        return "interrupted before it wrote a receipt" if plan["interrupted"] else "never"
    state = "complete" if applied["complete"] else "incomplete"
    return (
        f"{applied['started']} to {applied['finished']} by {wording.visible(applied['by'])}: "
        f"{state}"
    )


def _verified(plan: Mapping[str, Any]) -> str:
    verified = plan["verified"]
    if verified is None:
        return "no"
    by = f" by {wording.visible(verified['by'])}" if verified["by"] else ""
    if not verified["after_last_apply"]:
        outcome = "before the last apply run: verify again"
    elif verified["ok"]:
        outcome = "passed"
    else:
        outcome = f"failed on {_items(verified['failed'])}"
    return f"{verified['at']}{by}: {outcome}"


def _done_line(totals: Mapping[str, Any]) -> str:
    return ", ".join(f"{totals[key]} {words}" for key, words in _DONE_WORDS)


def _item_line(item: Mapping[str, Any]) -> str:
    shown = wording.shorten(wording.visible(item["detail"]), _LIMIT)
    detail = f": {shown}" if shown else ""
    short = item["digest"].removeprefix("sha256:")[:12]
    return (
        f"  {item['reason']:<18} {wording.visible(item['address'])}{detail} "
        f"(plan {wording.visible(item['plan'])} {short})"
    )


def markdown(doc: Mapping[str, Any]) -> str:
    """The record for the officer's file: the request, each plan, done and owed."""
    request = doc["request"]
    lines = [
        f"# Request {md(request['id'])}",
        "",
        f"- Subject: {code(request['subject'])} (a pseudonym)",
        f"- Received: {request['received'] or 'unknown'}",
        f"- {md(deadline_line(doc))}",
        f"- **Complete: {'yes' if doc['complete'] else 'no'}**",
        *(f"  - {md(reason)}" for reason in doc["why_not"]),
        "",
        "## Plans",
        "",
        "| plan | digest | planned | applied | verified |",
        "|---|---|---|---|---|",
        *(_plan_row(plan) for plan in doc["plans"]),
        "",
        "## Done",
        "",
        "| " + " | ".join(words for _key, words in _DONE_WORDS) + " |",
        "|" + "---|" * len(_DONE_WORDS),
        "| " + " | ".join(str(doc["totals"][key]) for key, _ in _DONE_WORDS) + " |",
        "",
    ]
    lines += _item_table(f"Owed ({len(doc['owed'])})", doc["owed"], "Nothing is owed.")
    if doc["dropped"]:
        lines += _item_table(
            f"Dropped ({len(doc['dropped'])}): owed by an earlier version, in no later one",
            doc["dropped"],
            "",
        )
    if doc["warnings"]:
        lines += ["## Warnings", "", *(f"- {md(w)}" for w in doc["warnings"]), ""]
    lines.append(f"Record as of {doc['today']}.")
    return "\n".join(lines) + "\n"


def _plan_row(plan: Mapping[str, Any]) -> str:
    name = _cell(plan["name"]) + ("" if plan["in_plan_file"] else " (replaced)")
    cells = [
        name,
        _cell(plan["digest"].removeprefix("sha256:")[:12]),
        plan["planned"] or "unknown",
        md(_applied(plan)),
        md(_verified(plan)),
    ]
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _item_table(title: str, items: list[Mapping[str, Any]], empty: str) -> list[str]:
    lines = [f"## {title}", ""]
    if not items:
        return [*lines, empty, ""]
    lines += ["| reason | item | detail | plan |", "|---|---|---|---|"]
    for item in items:
        cells = [
            item["reason"],
            _cell(item["address"]),
            md(wording.shorten(item["detail"], _LIMIT)),
            _cell(item["plan"]) + " " + item["digest"].removeprefix("sha256:")[:12],
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def md(value: object) -> str:
    """Plain text safe in Markdown (and in a table cell): no emphasis, links, HTML, mentions."""
    text = _MD_SPECIAL.sub(r"\\\1", wording.visible(value))
    return html.escape(text, quote=False).replace("@", "@&#8203;")


def _cell(value: object) -> str:
    return str(code(value, _LIMIT)).replace("|", "\\|")


def _items(count: int) -> str:
    return f"{count} item{'' if count == 1 else 's'}"


def _days(count: int) -> str:
    return f"{count} day{'' if count == 1 else 's'}"
