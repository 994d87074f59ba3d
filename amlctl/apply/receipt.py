"""Evidence of an apply: who did what, when, to which items, with which result.

A receipt is what a data-protection officer files: JSON for machines and Markdown for people.
It holds identifiers, HTTP statuses, request ids and file hashes; never a token, never an
exported payload, never the subject's identifiers (only the plan's pseudonym).
"""

from __future__ import annotations

import json
import tempfile
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

from amlctl.apply.outcomes import ApplyResult, Result
from amlctl.canonical import Made, pretty_json_chunks
from amlctl.fsio import write_stream_atomic
from amlctl.plan.model import Action, Change
from amlctl.plan.reading import PlanView, changes_of, indexes_of, made_of

FORMAT_VERSION = "1.0"


def run_stem(plan_path: Path, digest: str) -> Path:
    """`plans/x.plan.json` + digest -> `plans/x.<first 12 of digest>`: the journal and the
    receipt belong to one version of a plan, so a new plan at the same path starts afresh."""
    stem = plan_path.name.removesuffix(".json").removesuffix(".plan")
    short = digest.removeprefix("sha256:")[:12]
    return plan_path.with_name(f"{stem}.{short}")


def receipt_paths(plan_path: Path, digest: str) -> tuple[Path, Path]:
    stem = run_stem(plan_path, digest)
    return stem.with_name(stem.name + ".receipt.json"), stem.with_name(stem.name + ".receipt.md")


def build(
    plan: PlanView,
    digest: str,
    plan_path: Path,
    result: ApplyResult,
    *,
    identity: str,
    started: str,
    finished: str,
) -> dict[str, Any]:
    """The receipt document for one apply of `plan` (digest = the plan file's digest). Its
    `items` are made from the plan and the outcomes each time they are read (`Made`), so a
    receipt of 100k items is written without being held."""
    acted = array("I", indexes_of(plan, *_LISTED))  # the actions are in memory: nothing read
    counts = Counter(result.result_at(i).value for i in acted)
    return {
        "format_version": FORMAT_VERSION,
        "plan": {"path": plan_path.as_posix(), "digest": digest, "name": plan.name},
        "request": None
        if plan.request is None
        else {
            "id": plan.request.id,
            "due": plan.request.due.isoformat(),
            "subject": plan.request.pseudonym,
        },
        "target": {"kind": plan.target.kind, "endpoint": plan.target.endpoint},
        "workspaces": [ws.workspace for ws in plan.workspaces],
        "export_to": plan.export_to,
        "identity": identity,
        "started": started,
        "finished": finished,
        # Every planned API change done: nothing blocked, skipped, failed, held or a candidate.
        # Manual steps have no API: they are listed apart, owed until verify confirms them.
        "complete": result.complete,
        "summary": {r.value: counts[r.value] for r in Result},
        "items": made_of(plan, acted, partial(_item, result)),
        "manual": [
            {
                "address": change.address,
                "title": change.title,
                # what to do, with the exact paths where the plan names them (residue)
                "instructions": change.instructions,
                "state": f"owed: no API; do it, then amlctl verify --manual-done {change.id}",
            }
            for change in changes_of(plan, Action.MANUAL)
        ],
        # What the plan said aloud (not erasable with this catalog, nothing found, 404s, due).
        "notes": list(plan.warnings),
    }


# The actions a receipt lists an item for: what apply acts on, or refuses to.
_LISTED = tuple(a for a in Action if a not in (Action.ABSENT, Action.UNCHANGED, Action.MANUAL))


def _item(result: ApplyResult, index: int, change: Change) -> dict[str, Any]:
    outcome = result.outcome_at(index, change.address)
    record = outcome.record if outcome else {}
    return {
        "address": change.address,
        "workspace": change.workspace,
        "kind": change.kind,
        "id": change.id,
        "action": change.action.value,
        "url": change.url,
        "erasure": change.erasure,
        "result": result.result_at(index).value,
        "status": outcome.status if outcome else None,
        "request_id": outcome.request_id if outcome else None,
        "detail": outcome.detail if outcome else "",
        "file": record.get("file"),
        "sha256": record.get("sha256"),
        "size": record.get("size"),
        # The artifact bytes beside the JSON: `verify` checks them like the file.
        "content_file": record.get("content_file"),
        "content_sha256": record.get("content_sha256"),
        "content_size": record.get("content_size"),
    }


def write(doc: dict[str, Any], plan_path: Path) -> tuple[Path, Path]:
    """Write the receipt's JSON and Markdown, each as a stream. The items are made once, as
    the JSON is written (each reads its change from the plan and its outcome from disk), and
    their Markdown rows kept in a temp file for the second file, not made again."""
    json_path, md_path = receipt_paths(plan_path, doc["plan"]["digest"])
    root = json_path.parent
    with tempfile.TemporaryFile() as rows:
        teed = {**doc, "items": _Teed(doc["items"], rows)}
        write_stream_atomic(root, json_path.name, pretty_json_chunks(teed))
        rows.seek(0)
        lines = (line.decode("utf-8") for line in rows)
        write_stream_atomic(root, md_path.name, _encoded(markdown_lines(doc, rows=lines)))
    return json_path, md_path


class _Teed(Made):
    """The receipt's items, made as `source` makes them, each one's Markdown row written to
    `rows` (a binary file) as it passes: read once, for both files."""

    __slots__ = ("_rows",)

    def __init__(self, source: Sequence[Any], rows: BinaryIO) -> None:
        super().__init__(source, lambda item: item)
        self._rows = rows

    def __iter__(self) -> Iterator[Any]:
        for item in self._source:
            self._rows.write(_row(item).encode("utf-8"))
            yield item


def load(plan_path: Path, digest: str) -> dict[str, Any] | None:
    json_path, _ = receipt_paths(plan_path, digest)
    try:
        doc = json.loads(json_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def markdown(doc: dict[str, Any]) -> str:
    """The receipt for people: a summary, then one table row per item."""
    return "".join(markdown_lines(doc))


def markdown_lines(doc: dict[str, Any], rows: Iterable[str] | None = None) -> Iterator[str]:
    """`markdown(doc)` line by line, each with its newline; `rows`, when given, are the item
    rows already made of `doc["items"]` (`write`), in their order."""
    lines = [f"# amlctl receipt: {doc['plan']['name']}", ""]
    request = doc.get("request")
    if request:
        lines.append(
            f"- Request: {request['id']} (subject {request['subject']}, due {request['due']})"
        )
    lines += [
        f"- Plan: `{doc['plan']['path']}` ({doc['plan']['digest']})",
        f"- Target: {doc['target']['kind']}; workspaces: {', '.join(doc['workspaces'])}",
        f"- Applied by: {doc['identity']}, {doc['started']} to {doc['finished']}",
        f"- API changes complete: {'yes' if doc['complete'] else 'no'}",
        f"- Manual steps owed: {len(doc.get('manual', []))} (no API; `amlctl verify` confirms)",
        "- Results: " + ", ".join(f"{n} {k}" for k, n in doc["summary"].items() if n),
        "",
        "| result | action | erasure | kind | id | status | request id | sha256 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    yield from (line + "\n" for line in lines)
    yield from (map(_row, doc["items"]) if rows is None else rows)
    lines = _listed(
        "Manual steps (owed)",
        [
            f"{m['address']}: {m['title']}. {m.get('instructions') or ''} ({m['state']})"
            for m in doc["manual"]
        ],
    )
    lines += _listed("Notes from the plan", doc["notes"])
    yield from (line + "\n" for line in lines)


def _row(item: dict[str, Any]) -> str:
    """The receipt table's row of one item, with its newline (ids quoted: no newline inside)."""
    cells = [
        item["result"],
        item["action"],
        item.get("erasure") or "",
        item["kind"],
        _cell(item["id"]),
        str(item["status"] or ""),
        item["request_id"] or "",
        (item["sha256"] or "")[:16],
    ]
    return "| " + " | ".join(cells) + " |\n"


def _encoded(lines: Iterable[str]) -> Iterator[bytes]:
    """UTF-8 pieces of about 1 MiB of `lines`."""
    pieces: list[str] = []
    size = 0
    for line in lines:
        pieces.append(line)
        size += len(line)
        if size >= 1 << 20:
            yield "".join(pieces).encode()
            pieces, size = [], 0
    yield "".join(pieces).encode()


def _listed(title: str, entries: list[str]) -> list[str]:
    if not entries:
        return []
    return ["", f"## {title}", "", *(f"- {_line(entry)}" for entry in entries)]


def _line(text: str) -> str:
    return text.replace("\n", " ")


def _cell(text: str) -> str:
    return "`" + text.replace("`", "'").replace("|", "\\|").replace("\n", " ") + "`"
