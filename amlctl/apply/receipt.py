"""Evidence of an apply: who did what, when, to which items, with which result.

A receipt is what a data-protection officer files: JSON for machines and Markdown for people.
It holds identifiers, HTTP statuses, request ids and file hashes; never a token, never an
exported payload, never the subject's identifiers (only the plan's pseudonym).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from amlctl.apply.outcomes import ApplyResult, Result
from amlctl.canonical import pretty_json
from amlctl.fsio import write_atomic
from amlctl.plan.model import Action, Plan

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
    plan: Plan,
    digest: str,
    plan_path: Path,
    result: ApplyResult,
    *,
    identity: str,
    started: str,
    finished: str,
) -> dict[str, Any]:
    """The receipt document for one apply of `plan` (digest = the plan file's digest)."""
    items = []
    for change in plan.changes:
        if change.action in (Action.ABSENT, Action.UNCHANGED, Action.MANUAL):
            continue
        outcome = result.outcomes.get(change.address)
        items.append(
            {
                "address": change.address,
                "workspace": change.workspace,
                "kind": change.kind,
                "id": change.id,
                "action": change.action.value,
                "url": change.url,
                "erasure": change.erasure,
                "result": result.result_of(change.address).value,
                "status": outcome.status if outcome else None,
                "request_id": outcome.request_id if outcome else None,
                "detail": outcome.detail if outcome else "",
                "file": outcome.record.get("file") if outcome else None,
                "sha256": outcome.record.get("sha256") if outcome else None,
                "size": outcome.record.get("size") if outcome else None,
                # The artifact bytes beside the JSON: `verify` checks them like the file.
                "content_file": outcome.record.get("content_file") if outcome else None,
                "content_sha256": outcome.record.get("content_sha256") if outcome else None,
                "content_size": outcome.record.get("content_size") if outcome else None,
            }
        )
    counts = Counter(item["result"] for item in items)
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
        "items": items,
        "manual": [
            {
                "address": change.address,
                "title": change.title,
                # what to do, with the exact paths where the plan names them (residue)
                "instructions": change.instructions,
                "state": f"owed: no API; do it, then amlctl verify --manual-done {change.id}",
            }
            for change in plan.changes
            if change.action is Action.MANUAL
        ],
        # What the plan said aloud (not erasable with this catalog, nothing found, 404s, due).
        "notes": list(plan.warnings),
    }


def write(doc: dict[str, Any], plan_path: Path) -> tuple[Path, Path]:
    json_path, md_path = receipt_paths(plan_path, doc["plan"]["digest"])
    root = json_path.parent
    write_atomic(root, json_path.name, pretty_json(doc))
    write_atomic(root, md_path.name, markdown(doc).encode())
    return json_path, md_path


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
    for item in doc["items"]:
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
        lines.append("| " + " | ".join(cells) + " |")
    lines += _listed(
        "Manual steps (owed)",
        [
            f"{m['address']}: {m['title']}. {m.get('instructions') or ''} ({m['state']})"
            for m in doc["manual"]
        ],
    )
    lines += _listed("Notes from the plan", doc["notes"])
    return "\n".join(lines) + "\n"


def _listed(title: str, entries: list[str]) -> list[str]:
    if not entries:
        return []
    return ["", f"## {title}", "", *(f"- {_line(entry)}" for entry in entries)]


def _line(text: str) -> str:
    return text.replace("\n", " ")


def _cell(text: str) -> str:
    return "`" + text.replace("`", "'").replace("|", "\\|").replace("\n", " ") + "`"
