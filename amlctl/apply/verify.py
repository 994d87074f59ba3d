"""`amlctl verify`: does the end state the plan promised hold, item by item?

It checks the plan, not the receipt: every planned delete is gone (a GET answers 404), every
planned export is on disk and matches the hash it was recorded with, and every manual step was
confirmed by the person verifying. What the receipt says was not done (blocked, skipped, failed,
interrupted) is named with its reason. The result is printed and kept beside the receipt as
`<plan>.<digest>.verify.json`, so the evidence shows when, by whom and with which outcome.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from amlctl.apply import lookup, receipt
from amlctl.apply.export import index as exportindex
from amlctl.apply.export.exporter import verify_files
from amlctl.azure.client import Client
from amlctl.canonical import pretty_json
from amlctl.catalog import BUILTIN_CATALOGS, Catalog, load_catalog
from amlctl.errors import AmlctlError, UsageError
from amlctl.fsio import write_atomic
from amlctl.manifest import load_manifest
from amlctl.plan.model import Action, Change, Plan
from amlctl.timestamps import rfc3339

_DONE = ("exported", "deleted", "absent")


@dataclass(frozen=True)
class Check:
    """One planned change and whether its promised end state holds."""

    address: str
    ok: bool
    detail: str


def plan_catalog(plan: Plan) -> Catalog:
    """The catalog the plan was made with (its hosts are the only ones a token may go to):
    the manifest's, or the built-in one of that name, if its bytes are still the same."""
    candidates: list[Catalog] = []
    # The manifest may have moved or changed since: the built-in catalogs may still match.
    with contextlib.suppress(AmlctlError, OSError):
        candidates.append(load_manifest(Path(plan.manifest.path))[1])
    if plan.catalog.name in BUILTIN_CATALOGS:
        candidates.append(load_catalog(plan.catalog.name))
    for catalog in candidates:
        if (catalog.name, catalog.sha256) == (plan.catalog.name, plan.catalog.sha256):
            return catalog
    raise UsageError(
        f"cannot find catalog {plan.catalog.name} as this plan was made with it (sha256 "
        f"{plan.catalog.sha256[:12]}...); verify from the folder you planned in"
    )


def check(
    plan: Plan,
    applied: Mapping[str, Any],
    client: Client,
    catalog: Catalog,
    *,
    manual_done: Collection[str] = (),
    parallelism: int = 4,
) -> list[Check]:
    """Every planned change of `plan`, checked; `applied` is the plan's receipt."""
    items = {item["address"]: item for item in applied.get("items", [])}
    deletes = [c for c in plan.changes if c.phase == "delete" and c.url is not None]
    with ThreadPoolExecutor(max_workers=parallelism, thread_name_prefix="verify") as pool:
        found = pool.map(lambda c: _gone(client, catalog, c), deletes)
        gone = dict(zip(deletes, found, strict=True))
    current = {c.address for c in plan.changes if c.action is Action.UNCHANGED}
    earlier = exportindex.entries_for(plan.export_to, current) if current else {}
    checks = []
    for change in plan.changes:
        item = items.get(change.address)
        if change in gone:
            checks.append(_delete_check(change, item, gone[change]))
        elif change.action is Action.EXPORT:
            checks.append(_export_check(plan, change, item))
        elif change.action is Action.UNCHANGED:
            checks.append(_current_check(plan, change, earlier.get(change.address)))
        elif change.action is Action.MANUAL:
            checks.append(_manual_check(change, manual_done))
    return checks


def _gone(client: Client, catalog: Catalog, change: Change) -> bool:
    return lookup.current(client, catalog.kind(change.kind), change)[1] is None


def _delete_check(change: Change, item: Mapping[str, Any] | None, gone: bool) -> Check:
    did = _result(item)
    if gone:
        detail = "gone" if did in ("deleted", "absent") else f"gone, though apply: {did}"
        return Check(change.address, True, detail)
    return Check(change.address, False, f"still exists ({change.url}); apply: {did}")


def _export_check(plan: Plan, change: Change, item: Mapping[str, Any] | None) -> Check:
    if item is None or item.get("result") != "exported":
        return Check(change.address, False, f"not exported; apply: {_result(item)}")
    assert plan.export_to is not None
    problems = verify_files(Path(plan.export_to), {change.address: item})
    if problems:
        return Check(change.address, False, "; ".join(problems))
    return Check(change.address, True, f"{item.get('file')} matches")


def _current_check(plan: Plan, change: Change, entry: Mapping[str, Any] | None) -> Check:
    """An export the plan found current (`entry`, its index entry): the earlier export must
    still be there, intact."""
    if entry is None or plan.export_to is None:
        return Check(change.address, False, "planned as current, but the export index lacks it")
    problems = verify_files(Path(plan.export_to), {change.address: entry})
    if problems:
        return Check(change.address, False, "; ".join(problems))
    return Check(change.address, True, f"{entry.get('file')} matches (exported earlier)")


ALL_STEPS = "all"  # --manual-done all: every manual step of the plan was done by hand


def _manual_check(change: Change, manual_done: Collection[str]) -> Check:
    if ALL_STEPS in manual_done or change.id in manual_done or change.address in manual_done:
        return Check(change.address, True, f"confirmed done by hand: {change.title}")
    return Check(
        change.address,
        False,
        f"manual step not confirmed: {change.title} (do it, then pass --manual-done {change.id})",
    )


def _result(item: Mapping[str, Any] | None) -> str:
    if item is None:
        return "not in the receipt"
    result = str(item.get("result"))
    detail = str(item.get("detail") or "")
    return f"{result} ({detail})" if detail and result not in _DONE else result


def unknown_steps(plan: Plan, manual_done: Collection[str]) -> list[str]:
    """Names given to --manual-done that are no manual step of the plan (a typo must not
    count as a confirmation of something else, nor pass silently)."""
    known = {ALL_STEPS} | {c.id for c in plan.changes if c.action is Action.MANUAL}
    known |= {c.address for c in plan.changes if c.action is Action.MANUAL}
    return sorted(set(manual_done) - known)


def record(plan: Plan, plan_path: Path, checks: list[Check], identity: str) -> Path:
    """Keep the verification beside the receipt; return its path."""
    stem = receipt.run_stem(plan_path, plan.digest)
    doc = {
        "format_version": "1.0",
        "plan": {"path": plan_path.as_posix(), "digest": plan.digest, "name": plan.name},
        "request": plan.request.id if plan.request else None,
        "verified": rfc3339(datetime.now(UTC)),
        "identity": identity,
        "ok": all(c.ok for c in checks),
        "checks": [{"address": c.address, "ok": c.ok, "detail": c.detail} for c in checks],
    }
    path = stem.with_name(stem.name + ".verify.json")
    write_atomic(path.parent, path.name, pretty_json(doc))
    return path


def failures(checks: list[Check]) -> Iterator[Check]:
    return (c for c in checks if not c.ok)
