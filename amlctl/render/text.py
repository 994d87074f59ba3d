"""The terminal view of a plan, in the manner of `terraform plan`.

Every value that came from a server passes through `wording.visible`, so an id cannot move the
cursor, recolour the screen or start a fake line.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from itertools import groupby
from typing import Any, TextIO

from amlctl.render import wording

_CODES = {"red": "31", "green": "32", "yellow": "33", "bold": "1", "dim": "2"}
_STATE_COLOR = {
    "delete": "red",
    "blocked": "yellow",
    "candidate": "yellow",
    "export-new": "green",
    "export-changed": "yellow",
    "absent": "dim",
    "unchanged": "dim",
    "manual": "yellow",
}
_SYMBOL_COLOR = {
    "-": "red",
    "x": "yellow",
    "?": "yellow",
    "+": "green",
    "~": "yellow",
    "=": "dim",
    "!": "yellow",
}
_MAX_KIND = 24  # beyond these widths a value overflows its column rather than widen them all
_MAX_ID = 48


def use_color(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """Whether to colour output on `stream`: NO_COLOR wins, then FORCE_COLOR, then TERM=dumb,
    then whether the stream is a terminal (https://no-color.org, https://force-color.org)."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR") and env.get("FORCE_COLOR") != "0":
        return True
    if env.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class _Paint:
    """Wraps text in ANSI codes, or returns it unchanged when colour is off."""

    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, style: str, text: str) -> str:
        if not self.color or not text:
            return text
        return f"\x1b[{_CODES[style]}m{text}\x1b[0m"


def render_text(doc: Mapping[str, Any], *, color: bool = False) -> str:
    """The plan as terminal text: header, legend, changes by workspace, warnings, summary."""
    paint = _Paint(color)
    counts = wording.summary_counts(doc)
    lines = list(_header(doc, paint))
    if doc.get("changes"):
        lines += ["", *_legend(doc["changes"], paint)]
        widths = _widths(doc["changes"])  # one set of columns for the whole plan
        for workspace, changes in groupby(doc["changes"], key=lambda c: c.get("workspace")):
            lines += ["", paint("bold", f"Workspace {wording.visible(workspace)}:")]
            lines += _change_lines(changes, widths, paint)
    if doc.get("warnings"):
        lines += ["", paint("yellow", "Warnings:")]
        lines += [f"  {paint('yellow', '!')} {wording.visible(w)}" for w in doc["warnings"]]
    lines += ["", paint("bold", wording.summary_line(counts))]
    return "\n".join(line.rstrip() for line in lines) + "\n"


BRIEF_DELETES = 200  # deletes listed before the prompt; the rest are counted, and in the plan


def render_brief(
    doc: Mapping[str, Any], plan_path: str, *, color: bool = False, limit: int = BRIEF_DELETES
) -> str:
    """What apply shows before it asks: the header, the summary, every delete (up to `limit`),
    and where the whole plan is. A big plan printed whole (thousands of exports) would bury
    the deletes the person is about to confirm."""
    paint = _Paint(color)
    counts = wording.summary_counts(doc)
    lines = [*_header(doc, paint), "", paint("bold", wording.summary_line(counts))]
    doomed = wording.changes_with(doc, "delete", "blocked")
    if doomed:
        lines += ["", paint("red", f"Deletes ({len(doomed)}):")]
        widths = _widths(doomed[:limit])
        for workspace, changes in groupby(doomed[:limit], key=lambda c: c.get("workspace")):
            lines += [paint("bold", f"Workspace {wording.visible(workspace)}:")]
            lines += _change_lines(changes, widths, paint)
        if len(doomed) > limit:
            lines.append(f"  ... and {len(doomed) - limit} more deletes")
    lines += ["", f"The whole plan: amlctl show {wording.visible(plan_path)}"]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _header(doc: Mapping[str, Any], paint: _Paint) -> Iterator[str]:
    v = wording.visible
    yield paint("bold", f"amlctl plan: {v(doc.get('name', ''))}")
    yield f"  target:     {_target(doc.get('target') or {})}"
    yield f"  catalog:    {v((doc.get('catalog') or {}).get('name', ''))}"
    for index, ws in enumerate(doc.get("workspaces", [])):
        label = "workspaces:" if index == 0 else ""
        yield (f"  {label:<11} {v(ws.get('workspace'))} (subscription {v(ws.get('subscriptionId'))}"
               f", resource group {v(ws.get('resourceGroup'))}, {v(ws.get('location'))})")
    request = doc.get("request")
    if request:
        yield (f"  request:    {v(request.get('id'))}, received {v(request.get('received'))}, "
               f"due {v(request.get('due'))}")
        yield f"  subject:    {v((request.get('subject') or {}).get('pseudonym'))} (pseudonym)"
    else:
        yield "  request:    none (not a data-subject request)"
    if doc.get("export_to"):
        yield f"  export to:  {v(doc['export_to'])}"
    max_deletes = (doc.get("limits") or {}).get("maxDeletes")
    if max_deletes is not None:
        yield f"  limits:     at most {max_deletes} deletes"
    yield f"  created:    {v(doc.get('created', ''))}"


def _target(target: Mapping[str, Any]) -> str:
    kind = target.get("kind")
    if kind == "endpoint":
        return f"endpoint {wording.visible(target.get('endpoint'))}"
    if kind == "emulator":
        return "embedded emulator"
    return "Azure" if kind == "azure" else wording.visible(kind)


def _legend(changes: Iterable[Mapping[str, Any]], paint: _Paint) -> Iterator[str]:
    yield wording.LEGEND_INTRO
    for sym, meaning in wording.legend(changes):
        yield f"  {paint(_SYMBOL_COLOR[sym], sym)} {meaning}"


def _widths(changes: Iterable[Mapping[str, Any]]) -> tuple[int, int]:
    kind_width = id_width = 0
    for change in changes:
        kind_width = max(kind_width, len(wording.visible(change.get("kind"))))
        id_width = max(id_width, len(wording.visible(change.get("id"))))
    return min(_MAX_KIND, kind_width), min(_MAX_ID, id_width)


def _change_lines(
    changes: Iterable[Mapping[str, Any]], widths: tuple[int, int], paint: _Paint
) -> Iterator[str]:
    v = wording.visible
    kind_width, id_width = widths
    for change in changes:
        state = wording.state(change)
        head = paint(_STATE_COLOR.get(state, "bold"),
                     f"{wording.symbol(change)} {v(change.get('action')):<9}")
        body = f"{v(change.get('kind')):<{kind_width}}  {v(change.get('id')):<{id_width}}"
        extras = "".join(f"  {extra}" for extra in _extras(change))
        reason = paint("dim", f"  # {v(change['reason'])}") if change.get("reason") else ""
        yield f"  {head}  {body}{extras}{reason}"
        if change.get("action") == "manual":
            yield from _manual_lines(change, paint)


def _extras(change: Mapping[str, Any]) -> Iterator[str]:
    v = wording.visible
    if name := wording.name_beside_id(change):
        yield f"({v(name)})"
    if change.get("file") and change.get("action") == "export":
        yield f"-> {v(change['file'])}"
    if change.get("long_running"):
        yield "[long-running]"
    if change.get("erasure"):
        yield f"[{v(change['erasure'])}]"


def _manual_lines(change: Mapping[str, Any], paint: _Paint) -> Iterator[str]:
    yield f"      {paint('bold', wording.visible(change.get('title') or ''))}"
    for line in str(change.get("instructions") or "").splitlines():
        yield f"      {wording.visible(line)}"
