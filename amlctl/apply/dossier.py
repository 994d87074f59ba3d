"""`amlctl receipt REQUEST-ID`: one record of a GDPR request, across every plan that answers it.

A request is often answered by more than one plan: an export and an erasure, or a re-plan after
a blocked delete. `amlctl.apply.evidence` reads every version of those plans with its receipt,
verify record and journal, in the order they were planned.

The record reads them all and says, item by item (by address), what was done and what is still
owed. The versions are ordered by when they were planned (a replaced version by when it was
applied, which was before its replacement was planned); the latest version that holds an item
says what became of it, so an item blocked in a first plan and deleted by a re-plan counts as
done. An item owed only by a version no later version holds is listed as dropped: the re-plan
left it out, which the record shows without counting it as owed. A manual step confirmed by
a verify stays confirmed when a later plan lists it again.

The request is complete only when nothing is owed and the latest version of every plan was
verified (its latest verify passed, after its last apply); the record says why not otherwise.
It holds the pseudonym of the subject, never her identifiers: display names that a candidate's
reason quotes are left out.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from amlctl.apply.evidence import Version, gather
from amlctl.plan.serialize import plan_timestamp

__all__ = ["DONE", "FORMAT_VERSION", "OWED", "Version", "build", "gather", "observations", "today"]

FORMAT_VERSION = "1.0"
DUE_SOON_DAYS = 7  # a request due within this many days is "due-soon"

DONE = ("exported", "unchanged", "deleted", "absent", "confirmed")
# Why an item is owed, in the order the record lists them.
OWED = (
    "blocked",
    "skipped",
    "failed",
    "not-done",
    "candidate",
    "manual-unconfirmed",
    "never-applied",
    "verify-failed",
)
# A candidate's reason quotes the display name it matched: one of the subject's names.
_QUOTED_NAME = re.compile(r"""created by (?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""")


@dataclass(frozen=True)
class Observation:
    """What one version says became of one item: done (with how), or owed (with why)."""

    address: str
    workspace: str
    kind: str
    id: str
    state: str  # one of DONE or OWED
    detail: str
    version: int = field(default=-1, compare=False)  # index in the ordered versions

    @property
    def done(self) -> bool:
        return self.state in DONE


# -- what each version says -------------------------------------------------------------------


def observations(version: Version, index: int) -> Iterator[Observation]:
    """What `version` says became of each item it holds (see the module doc)."""
    items = {item["address"]: item for item in (version.receipt or {}).get("items", [])}
    checks = {check["address"]: check for check in (version.verify or {}).get("checks", [])}
    if version.plan is not None:
        for change in version.plan["changes"]:
            seen = _from_change(version, change, items.get(change["address"]))
            yield _judged(seen, checks.get(seen.address), version, index)
        return
    for item in items.values():
        yield _judged(_from_item(item), checks.get(item["address"]), version, index)
    for address, check in checks.items():  # a replaced version's manual steps
        if address.startswith("manual:") and address not in items:
            yield _judged(_observe(address, "manual-unconfirmed", ""), check, version, index)


def _from_change(
    version: Version, change: Mapping[str, Any], item: Mapping[str, Any] | None
) -> Observation:
    address, action = str(change["address"]), str(change["action"])
    if action in ("absent", "unchanged"):
        return _observe(address, action, str(change["reason"]))
    if action == "manual":
        return _observe(address, "manual-unconfirmed", f"{change['title']} (not confirmed)")
    if action == "candidate":
        return _observe(address, "candidate", str(change["reason"]))
    if item is not None:
        return _from_item(item)
    if action == "blocked":
        return _observe(address, "blocked", f"blocked in the plan: {change['reason']}")
    if version.journal_time is not None:
        return _observe(
            address, "not-done", "apply was interrupted before it wrote a receipt; run it again"
        )
    return _observe(address, "never-applied", "planned, never applied")


def _from_item(item: Mapping[str, Any]) -> Observation:
    address, result = str(item["address"]), str(item["result"])
    detail = str(item.get("detail") or "")
    if item.get("action") == "candidate":
        return _observe(address, "candidate", detail.removeprefix("candidate: "))
    if result in ("exported", "deleted", "absent"):
        return _observe(address, result, "")
    return _observe(address, result if result in OWED else "failed", detail)


def _judged(
    seen: Observation, check: Mapping[str, Any] | None, version: Version, index: int
) -> Observation:
    """`seen`, corrected by the version's verify record: a manual step it confirms is done; a
    delete it found gone is done; a done item a verify after the last apply failed is owed."""
    if check is not None:
        phase = seen.address.split(":", 1)[0]
        if phase == "manual" and check["ok"]:
            seen = _observe(seen.address, "confirmed", str(check["detail"]))
        elif phase == "delete" and check["ok"] and not seen.done and version.verify_fresh:
            seen = _observe(seen.address, "absent", f"verified gone ({check['detail']})")
        elif seen.done and not check["ok"] and version.verify_fresh:
            seen = _observe(seen.address, "verify-failed", str(check["detail"]))
    return Observation(seen.address, seen.workspace, seen.kind, seen.id, seen.state,
                       seen.detail, index)


def _observe(address: str, state: str, detail: str) -> Observation:
    _phase, _, rest = address.partition(":")
    workspace, _, rest = rest.partition("/")
    kind, _, item_id = rest.partition("/")
    return Observation(address, workspace, kind, item_id, state, _scrub(detail))


def _scrub(text: str) -> str:
    """`text` without the display names a candidate's reason quotes (the subject's names)."""
    return _QUOTED_NAME.sub("created by a display name", text)


# -- the record -------------------------------------------------------------------------------


def build(request_id: str, versions: list[Version], today: date) -> dict[str, Any]:
    """The record of `request_id` from its ordered versions (see `gather`), as of `today`."""
    final: dict[str, Observation] = {}
    for index, version in enumerate(versions):
        for seen in observations(version, index):
            earlier = final.get(seen.address)
            # A step done by hand stays done: a later plan listing it again does not undo it
            # (that plan's own verify still asks for it).
            if not (seen.state == "manual-unconfirmed" and earlier and earlier.done):
                final[seen.address] = seen
    latest = {version.path: index for index, version in enumerate(versions)}
    last = set(latest.values())
    owed = [o for o in final.values() if not o.done and o.version in last]
    dropped = [o for o in final.values() if not o.done and o.version not in last]
    done = [o for o in final.values() if o.done]
    plans = [_plan_doc(v, i, i in last, final) for i, v in enumerate(versions)]
    why_not = [reason for p in plans if p["latest"] for reason in p["why_not"]]
    request = _request(versions)
    verified = [p["verified"]["at"] for p in plans if p["latest"] and p["verified"]]
    completed = max(verified)[:10] if not why_not and verified else None
    return {
        "format_version": FORMAT_VERSION,
        "request": request,
        "today": today.isoformat(),
        "deadline": _deadline(request["due"], today, completed),
        "complete": not why_not,
        "why_not": why_not,
        "plans": [{k: v for k, v in p.items() if k != "why_not"} for p in plans],
        "totals": _totals(done, owed, dropped),
        "owed": [_item_doc(o, versions) for o in _sorted_owed(owed)],
        "dropped": [_item_doc(o, versions) for o in _sorted_owed(dropped)],
        "done": [_item_doc(o, versions) for o in sorted(done, key=lambda o: o.address)],
        "warnings": _warnings(versions, dropped),
    }


def _plan_doc(
    version: Version, index: int, latest: bool, final: Mapping[str, Observation]
) -> dict[str, Any]:
    left = sum(1 for o in final.values() if o.version == index and not o.done)
    applied = None
    if version.receipt is not None:
        applied = {
            "started": version.receipt["started"],
            "finished": version.receipt["finished"],
            "by": version.receipt["identity"],
            "complete": version.receipt["complete"],
            "receipt": _posix(version.receipt_path),
        }
    return {
        "name": version.name,
        "path": version.path.as_posix(),
        "digest": version.digest,
        "latest": latest,
        "in_plan_file": version.plan is not None,
        "planned": version.plan["created"] if version.plan is not None else None,
        "applied": applied,
        "interrupted": version.receipt is None and version.journal_time is not None,
        "verified": _verified_doc(version),
        "owed": left if latest else 0,
        "dropped": 0 if latest else left,
        "why_not": _why_not(version, left, final) if latest else [],
    }


def _verified_doc(version: Version) -> dict[str, Any] | None:
    if version.verify is None:
        return None
    failed = [c["address"] for c in version.verify["checks"] if not c["ok"]]
    return {
        "at": version.verify["verified"],
        "by": version.verify.get("identity"),
        "ok": version.verify["ok"],
        "after_last_apply": version.verify_fresh,
        "failed": len(failed),
        "record": _posix(version.verify_path),
    }


def _why_not(version: Version, owed: int, final: Mapping[str, Observation]) -> list[str]:
    """Why this latest version keeps the request from being complete; empty when it does not."""
    label = version.label
    reasons = [f"{label}: {owed} item{_s(owed)} still owed"] if owed else []
    if version.receipt is None:
        how = "its apply was interrupted" if version.journal_time else "never applied"
        return [*reasons, f"{label}: {how}; no receipt"]
    if version.verify is None:
        return [*reasons, f"{label}: not verified (run amlctl verify {version.path.as_posix()})"]
    at = version.verify["verified"]
    if not version.verify_fresh:
        return [*reasons, f"{label}: verified at {at}, before its last apply run finished at "
                          f"{version.receipt['finished']}; verify it again"]
    if not version.verify["ok"]:
        failed = [c["address"] for c in version.verify["checks"] if not c["ok"]]
        since = sum(1 for a in failed if a in final and final[a].done)
        again = f"; {since} of them done since: verify it again" if since else ""
        return [*reasons, f"{label}: its last verify ({at}) failed on {len(failed)} "
                          f"item{_s(len(failed))}{again}"]
    return reasons


def _request(versions: list[Version]) -> dict[str, Any]:
    """The request as the latest version states it (received from the latest plan file)."""
    last = versions[-1].request
    received = next((v.request.get("received") for v in reversed(versions)
                     if v.request.get("received")), None)
    return {"id": last["id"], "received": received, "due": last["due"], "subject": last["subject"]}


def _deadline(due: str, today: date, completed: str | None) -> dict[str, Any]:
    days_left = (date.fromisoformat(due) - today).days
    if completed is not None:
        status = "met" if completed <= due else "late"
    elif days_left < 0:
        status = "overdue"
    elif days_left == 0:
        status = "due-today"
    elif days_left <= DUE_SOON_DAYS:
        status = "due-soon"
    else:
        status = "open"
    return {"due": due, "days_left": days_left, "status": status, "completed_on": completed}


def _totals(
    done: Iterable[Observation], owed: list[Observation], dropped: list[Observation]
) -> dict[str, Any]:
    counts = Counter(o.state for o in done)
    reasons = Counter(o.state for o in owed)
    return {
        **{state: counts[state] for state in DONE},
        "owed": len(owed),
        "owed_by_reason": {reason: reasons[reason] for reason in OWED if reasons[reason]},
        "dropped": len(dropped),
    }


def _sorted_owed(owed: Iterable[Observation]) -> list[Observation]:
    return sorted(owed, key=lambda o: (OWED.index(o.state), o.address))


def _item_doc(seen: Observation, versions: list[Version]) -> dict[str, Any]:
    version = versions[seen.version]
    key = "result" if seen.done else "reason"
    return {
        "address": seen.address,
        "workspace": seen.workspace,
        "kind": seen.kind,
        "id": seen.id,
        key: seen.state,
        "detail": seen.detail,
        "plan": version.name,
        "digest": version.digest,
    }


def _warnings(versions: list[Version], dropped: list[Observation]) -> list[str]:
    warnings = []
    subjects = sorted({str(v.request.get("subject")) for v in versions})
    if len(subjects) > 1:
        warnings.append(
            f"the plans name {len(subjects)} different subjects ({', '.join(subjects)}): check "
            "that every manifest names the same person"
        )
    dues = sorted({str(v.request.get("due")) for v in versions})
    if len(dues) > 1:
        warnings.append(
            f"the plans give different due dates ({', '.join(dues)}); the latest plan's is used"
        )
    if dropped:
        warnings.append(
            f"{len(dropped)} item{_s(len(dropped))} owed by an earlier plan version "
            f"{'are' if len(dropped) != 1 else 'is'} in no later one (dropped when planning "
            "again): check that this was intended"
        )
    return warnings


def today(environ: Mapping[str, str]) -> date:
    """Today (UTC), or the day of SOURCE_DATE_EPOCH when it is set (reproducible records)."""
    return date.fromisoformat(plan_timestamp(environ, datetime.now(UTC))[:10])


def _posix(path: Path | None) -> str | None:
    return path.as_posix() if path is not None else None


def _s(count: int) -> str:
    return "" if count == 1 else "s"
