"""The README.txt of a subject's package: plain words for the person the data is about.

It says what the package holds, from which workspaces, how many items of each kind, the date,
the request id, what was not exported and why, and what the package leaves out. It names no
person: it is built from the plan's request id and workspaces, the addresses of the exported
items, the catalog's titles of manual export steps and reasons of amlctl's own, never from the
receipt's identity, a change's display-only reason or the subject's identifiers. Items held
back because they name their creator by a display name only are counted, never listed: they
may be another person's.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from amlctl.apply.package import Selection

_KINDS = {
    "run": "runs of experiments",
    "metric": "metrics logged by runs",
    "artifact": "files stored by runs (.json), with their bytes (.content)",
    "model": "registered models",
    "asset": "registered assets",
    "notification_task": "notification tasks",
    "experiment": "experiments",
    "datastore": "datastores (their account keys and other secrets are never read)",
    "image": "images",
    "service": "web services",
    "compute": "compute resources",
}


def summary(chosen: Selection, moment: datetime) -> str:
    plan = chosen.plan
    assert plan.request is not None
    kinds = Counter(_kind(address) for address in chosen.entries)
    files = Counter(
        _kind(address) for address, entry in chosen.entries.items()
        for key in ("file", "content_file") if entry.get(key) is not None
    )
    lines = [
        "Your data from Azure Machine Learning",
        "=====================================",
        "",
        f"Request:   {plan.request.id}",
        f"Received:  {plan.request.received.isoformat()}",
        f"Prepared:  {moment.date().isoformat()}",
        f"Contents:  {_n(len(chosen.entries), 'item')} in {_n(sum(files.values()), 'file')}, "
        f"from {_n(len(plan.workspaces), 'workspace')}",
        "",
        *_INTRO,
        "",
        *_heading("Workspaces"),
        *_workspaces(chosen),
        "",
        *_heading("Items per kind"),
        f"  {'kind':<20} {'items':>5} {'files':>5}  what they are",
        *(
            f"  {kind:<20} {kinds[kind]:>5} {files[kind]:>5}  {_KINDS.get(kind, kind)}"
            for kind in sorted(kinds)
        ),
        "",
        *_heading("Not included, and why"),
        *_not_included(chosen),
        "",
        *_FILES,
        "",
        *_LEAVES_OUT,
    ]
    return "\n".join(lines) + "\n"


_INTRO = (
    "This package is a copy of the data about you held in the Azure Machine Learning",
    "workspaces named below, given to you under Article 15 (right of access) and Article 20",
    "(right to data portability) of the GDPR. Each item is a JSON file (a structured, commonly",
    "used and machine-readable format) holding the item exactly as the service returned it,",
    "except that fields holding secrets, such as keys or passwords, are blanked (null); a file",
    "with blanked fields lists them under \"_amlctl\". Files that a run stored come with their",
    "bytes, in a .content file next to the item's JSON.",
)
_FILES = (
    "Files in this package",
    "---------------------",
    "  README.txt       this summary",
    "  contents.json    every other file of this package, with its SHA-256 hash and size",
    "  index.json       for each item: where it was read (the service's URL), the id of the",
    "                   service's answer, when it was exported, its SHA-256 hash and size",
    "  <workspace>/<kind>/<name>.json      one item",
    "  <workspace>/<kind>/<name>.content   the bytes of a file that a run stored",
    "",
    "To check a file, compare its SHA-256 hash with the one contents.json lists for it, for",
    "example with `sha256sum FILE` (Linux), `shasum -a 256 FILE` (macOS) or",
    "`Get-FileHash FILE` (Windows PowerShell).",
)
_LEAVES_OUT = (
    "What this package leaves out",
    "----------------------------",
    "  - Anyone's identity in this summary, contents.json and index.json: they do not name",
    "    the people who reviewed or carried out your request, nor the accounts they used,",
    "    nor your own account's identifiers. The items themselves are included as the",
    "    service stores them.",
    "  - Secrets: account keys, passwords and tokens are never exported.",
    "  - Items that may be someone else's, and anything listed under \"Not included\".",
)


def _heading(title: str) -> list[str]:
    return [title, "-" * len(title)]


def _workspaces(chosen: Selection) -> list[str]:
    per = Counter(address.split(":", 1)[1].split("/", 1)[0] for address in chosen.entries)
    return [
        f"  {ws.workspace} (region {ws.location}): {_n(per[ws.workspace], 'item')}"
        for ws in chosen.plan.workspaces
    ]


def _not_included(chosen: Selection) -> list[str]:
    lines = [f"  - {left.kind} {left.id} (workspace {left.workspace}): {left.why}"
             for left in sorted(chosen.left, key=lambda x: (x.workspace, x.kind, x.id))]
    if chosen.candidates == 1:
        lines += [
            "  - 1 item names its creator only by a display name like yours. Display names",
            "    are not unique, so it may be someone else's: it was held back for a person to",
            "    review, and is not included.",
        ]
    elif chosen.candidates:
        lines += [
            f"  - {chosen.candidates} items name their creator only by a display name like",
            "    yours. Display names are not unique, so they may be someone else's: they were",
            "    held back for a person to review, and are not included.",
        ]
    steps: dict[str, list[str]] = {}
    for workspace, title in chosen.manual:
        steps.setdefault(title, []).append(workspace)
    for title in sorted(steps):
        where = sorted(steps[title])
        lines += [
            f"  - {title} (workspace{'s' if len(where) > 1 else ''} {', '.join(where)}):",
            "    the service offers no way to export this automatically, so it is not in this",
            "    package; it is done by hand (ask the people handling your request).",
        ]
    return lines or ["  Nothing: every item planned for export is in this package."]


def _kind(address: str) -> str:
    return address.split(":", 1)[1].split("/", 2)[1]


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
