"""The plan as a pull-request comment (GitHub Markdown), in the manner of tfcmt and Atlantis.

Ids, names and paths come from the service, so nothing from the plan reaches the comment raw:
the template autoescapes HTML by default, ids go into code spans (`code`) or the diff code block,
and prose goes through `md`, which escapes only what would otherwise become markup (no HTML
entities, no backslash before a harmless `-` or `.`: the comment's source reads as it renders).
The comment stays under GitHub's 65,536-character limit by listing only the first N changes of
each (workspace, kind, action) when the full list would not fit, and saying how many were left out.
Deletes are fitted first; when they do not all fit as diff lines, each becomes one short line
(symbol, id, name) under a header saying what they are and why, so a 100,000-item plan's comment
still names some 4,500 deletes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import groupby
from typing import Any

import jinja2
from markupsafe import Markup

from amlctl.render import wording
from amlctl.render.review import Review, plan_marker, review_context

COMMENT_LIMIT = 65_536  # GitHub's maximum comment body, in characters
# Sizes are measured in UTF-8 bytes: never fewer than characters or UTF-16 units, so the comment
# fits however GitHub counts.
_MARGIN = 512  # headroom for the omission note and rounding in the size arithmetic
_MAX_ID = 160  # ids longer than this are cut in the comment (the plan file has them whole)
_MAX_LISTED = 50  # manual steps, warnings and workspaces shown before "and N more"
# What makes markup anywhere in a line of GitHub Markdown: emphasis, code, links, tables,
# strikethrough, math; `_` only where it can open or close emphasis (not inside a word), `<` only
# where it can open a tag or an autolink, `&` only where it can start an entity.
_MD_SPECIAL = re.compile(
    r"[\\`*\[\]|~$]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|<(?=[A-Za-z/!?])|&(?=#?\w+;)"
)
# What makes markup only at the start of a line: headings, quotes, lists, rules, setext lines.
_MD_LINE_START = re.compile(r"^(\s*)([#>+=-]|\d+[.)])")
_NO_MENTION = "@\u200b"  # a zero-width space after @ stops GitHub's mention (and its e-mail)
_MAX_NAME = 80  # item names beside their ids are cut here
_HEADER_SYMBOLS = {
    "delete": "-",
    "blocked": "x",
    "candidate": "?",
    "export": "+",
    "absent": "=",
    "unchanged": "=",
    "manual": "!",
}


def code(value: object, limit: int = _MAX_ID) -> Markup:
    """`value` as an inline code span that no backtick, newline or `<` inside it can break."""
    text = wording.shorten(wording.visible(value), limit)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    if text.startswith(("`", " ")) or text.endswith(("`", " ")):
        text = f" {text} "  # CommonMark strips one space on each side
    return Markup(f"{fence}{text}{fence}")


def cell(value: object) -> Markup:
    """A code span fit for a table cell: GitHub splits cells on `|` even inside code spans."""
    return Markup(str(code(value)).replace("|", "\\|"))


def md(value: object) -> Markup:
    """Plain text safe in Markdown: what would become markup or HTML backslash-escaped, and
    no @mentions; nothing else changes (no entities), so the source reads as it renders."""
    text = _MD_SPECIAL.sub(lambda m: "\\" + m.group(), wording.visible(value))
    text = _MD_LINE_START.sub(_escape_line_start, text)
    return Markup(text.replace("@", _NO_MENTION))


def _escape_line_start(match: re.Match[str]) -> str:
    indent, mark = match.groups()
    if mark[0].isdigit():  # `1.` opens a list; `1\.` does not
        return f"{indent}{mark[:-1]}\\{mark[-1]}"
    return f"{indent}\\{mark}"


@dataclass(frozen=True)
class _Group:
    """The diff lines of one (workspace, kind, action), and what to say when some are cut."""

    workspace: str
    kind: str
    action: str
    lines: list[str]
    header: str | None = None  # compact groups: what every line of it does, and why


def render_markdown(doc: Mapping[str, Any], review: Review | None = None) -> str:
    """The plan as one GitHub comment of fewer than 65,536 characters; with `review`, the
    pull-request comment: who must approve, the request's deadline, how it gets applied."""
    counts = wording.summary_counts(doc)
    groups = list(_groups(doc))
    context = {
        **_context(doc, counts),
        "review": review_context(doc, review),
        "marker": plan_marker(doc, review.run_id if review else None),
    }
    multi = len(doc.get("workspaces", [])) > 1
    shell = _template().render(**context, details="", shown=None)
    headers = {group.workspace for group in groups} if multi else set()
    budget = COMMENT_LIMIT - _size(shell) - _MARGIN - sum(_size(_workspace_line(w)) + 1
                                                          for w in headers)
    limits = _limits(groups, budget)
    if limits[True] is not None:  # not every delete fits as a diff line: name them compactly
        groups = [_compact(g, doc) if _destroys(g) else g for g in groups]
        limits = _limits(groups, budget)
    details, shown = _details(groups, limits, multi=multi)
    result = _template().render(**context, details=details, shown=shown)
    if _size(result) >= COMMENT_LIMIT:  # only if the fixed parts alone are too big
        result = _template().render(**context, details="", shown=(0, len(doc["changes"])))
    return result


def _limits(groups: Sequence[_Group], budget: int) -> dict[bool, int | None]:
    """Lines per group, deletes first: a reviewer must see what is destroyed before what is
    copied, so exports get only the room the deletes leave. Keyed by `_destroys(group)`."""
    deletes = [g for g in groups if _destroys(g)]
    first = _fit(deletes, budget)
    used = sum(_group_size(g, first) for g in deletes)
    return {True: first, False: _fit([g for g in groups if not _destroys(g)], budget - used)}


def _compact(group: _Group, doc: Mapping[str, Any]) -> _Group:
    """The group with one short line per item (symbol, id, name) under one header saying
    what they all are and why: four to five times as many deletes fit in a comment."""
    changes = [c for c in doc.get("changes", []) if (
        str(c.get("workspace")), str(c.get("kind")), str(c.get("action"))) == (
        group.workspace, group.kind, group.action)]
    v = wording.visible
    reasons = list(dict.fromkeys(str(c.get("reason") or "") for c in changes))
    why = "; ".join(wording.shorten(v(r), 80) for r in reasons[:2] if r)
    more = f" (+{len(reasons) - 2} more reasons)" if len(reasons) > 2 else ""
    header = f"# {v(group.action)} {v(group.kind)}: {len(changes)} items, {why}{more}"
    return _Group(group.workspace, group.kind, group.action,
                  [_short_line(c) for c in changes], header=header)


def _short_line(change: Mapping[str, Any]) -> str:
    v = wording.visible
    line = f"{wording.symbol(change)} {wording.shorten(v(change.get('id')), _MAX_ID)}"
    if name := wording.name_beside_id(change):
        line += f" ({wording.shorten(v(name), _MAX_NAME)})"
    return line


def _destroys(group: _Group) -> bool:
    return group.action in ("delete", "blocked")


def _group_size(group: _Group, limit: int | None) -> int:
    kept = group.lines if limit is None else group.lines[:limit]
    note = _size(_omitted(group, 0)) + 8 if len(kept) < len(group.lines) else 0
    return sum(_size(line) + 1 for line in kept) + note + _header_size(group)


def _header_size(group: _Group) -> int:
    return _size(group.header) + 1 if group.header else 0


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("amlctl.render", "templates"),
        autoescape=True,  # anything not passed through a filter below is HTML-escaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(code=code, cell=cell, md=md)
    return env.get_template("comment.md.j2")


def _context(doc: Mapping[str, Any], counts: Mapping[str, int]) -> dict[str, Any]:
    changes: Sequence[Mapping[str, Any]] = doc.get("changes", [])
    manual = [c for c in changes if c.get("action") == "manual"]
    whole = [c for c in changes if wording.deletes_workspace(doc, c)]
    doomed = [c.get("workspace") for c in whole]
    # A soft delete keeps the workspace recoverable for a time: saying "no undo" would overstate.
    soft = bool(whole) and all(c.get("erasure") == "soft" for c in whole)
    return {
        "doc": doc,
        "summary": wording.summary_line(counts),
        "counts": counts,
        "total": len(changes),
        "table": _table(changes, wording.shown_actions(counts)),
        "actions": wording.shown_actions(counts),
        "headers": [
            Markup(f"`{_HEADER_SYMBOLS[action]}` {action}")
            for action in wording.shown_actions(counts)
        ],
        "doomed": doomed,
        "soft": soft,
        "manual": manual[:_MAX_LISTED],
        "manual_left": max(0, len(manual) - _MAX_LISTED),
        "warnings": list(doc.get("warnings", []))[:_MAX_LISTED],
        "warnings_left": max(0, len(doc.get("warnings", [])) - _MAX_LISTED),
        "workspaces": list(doc.get("workspaces", []))[:_MAX_LISTED],
        "workspaces_left": max(0, len(doc.get("workspaces", [])) - _MAX_LISTED),
    }


def _table(
    changes: Sequence[Mapping[str, Any]], actions: Sequence[str]
) -> list[tuple[str, list[int]]]:
    """Rows of the kind x action table: (kind, counts in `actions` order)."""
    rows: dict[str, dict[str, int]] = {}
    for change in changes:
        row = rows.setdefault(str(change.get("kind")), dict.fromkeys(actions, 0))
        if change.get("action") in row:
            row[change["action"]] += 1
    return [(kind, list(row.values())) for kind, row in sorted(rows.items())]


def _groups(doc: Mapping[str, Any]) -> Iterator[_Group]:
    def key(change: Mapping[str, Any]) -> tuple[str, str, str]:
        return (str(change.get("workspace")), str(change.get("kind")), str(change.get("action")))

    changes = doc.get("changes", [])
    width = min(24, max((len(wording.visible(c.get("kind"))) for c in changes), default=0))
    for (workspace, kind, action), group in groupby(changes, key=key):
        yield _Group(workspace, kind, action, [_diff_line(c, width) for c in group])


def _diff_line(change: Mapping[str, Any], kind_width: int) -> str:
    v = wording.visible
    kind = f"{v(change.get('kind')):<{kind_width}}"
    item = wording.shorten(v(change.get("id")), _MAX_ID)
    parts = [wording.symbol(change), f"{v(change.get('action')):<9}", kind, item]
    if name := wording.name_beside_id(change):
        parts.append(f"({wording.shorten(v(name), _MAX_NAME)})")
    if change.get("long_running"):
        parts.append("[long-running]")
    if change.get("reason"):
        parts.append(f" # {wording.shorten(v(change['reason']), _MAX_ID)}")
    return " ".join(parts)


def _fit(groups: Sequence[_Group], budget: int) -> int | None:
    """The largest number of lines per group that fits `budget`; None when all of them fit."""
    sizes = [[_size(line) + 1 for line in group.lines] for group in groups]
    budget -= sum(_header_size(group) for group in groups)
    if sum(map(sum, sizes)) <= budget:
        return None
    if budget <= 0:
        return 0
    notes = [_size(_omitted(group, len(group.lines))) + 1 for group in groups]
    low, high = 0, max(map(len, sizes))
    while low < high:
        middle = (low + high + 1) // 2
        size = sum(sum(lengths[:middle]) + (note if len(lengths) > middle else 0)
                   for lengths, note in zip(sizes, notes, strict=True))
        low, high = (middle, high) if size <= budget else (low, middle - 1)
    return low


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _omitted(group: _Group, left: int) -> str:
    kind = wording.shorten(wording.visible(group.kind), 40)
    return f"  ... {left} more {kind} {wording.visible(group.action)} changes not shown"


def _workspace_line(workspace: str) -> str:
    return f"# workspace {wording.shorten(wording.visible(workspace), _MAX_ID)}"


def _details(
    groups: Sequence[_Group], limits: Mapping[bool, int | None], *, multi: bool
) -> tuple[str, tuple[int, int] | None]:
    lines: list[str] = []
    shown = total = 0
    workspace = None
    for group in groups:
        if multi and group.workspace != workspace:
            workspace = group.workspace
            lines.append(_workspace_line(workspace))
        per_group = limits[_destroys(group)]
        keep = group.lines if per_group is None else group.lines[:per_group]
        if group.header:
            lines.append(group.header)
        lines += keep
        shown, total = shown + len(keep), total + len(group.lines)
        if len(keep) < len(group.lines):
            lines.append(_omitted(group, len(group.lines) - len(keep)))
    return Markup("\n".join(lines)), None if shown == total else (shown, total)
