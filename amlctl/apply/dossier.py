"""`amlctl receipt REQUEST-ID`: one record of a GDPR request, across every plan that answers it.

A request is often answered by more than one plan: an export and an erasure, or a re-plan after
a blocked delete. Each plan file under `plans/` names its request; each version of a plan (its
digest) may have a receipt (`<plan>.<digest12>.receipt.json`), a verify record
(`<plan>.<digest12>.verify.json`) and a journal. A version whose plan file was since replaced
by a new plan at the same path is known from its receipt alone.

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

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from amlctl.apply import receipt
from amlctl.errors import PlanFileError, UsageError
from amlctl.plan.serialize import load_doc, plan_timestamp

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
_RECEIPT_NAME = re.compile(r"^(?P<stem>.+)\.(?P<short>[0-9a-f]{12})\.receipt\.json$")
# A candidate's reason quotes the display name it matched: one of the subject's names.
_QUOTED_NAME = re.compile(r"""created by (?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""")


@dataclass
class Version:
    """One version (digest) of one plan, with the evidence found for it."""

    path: Path  # the plan file this version is, or was, saved at
    name: str
    digest: str
    request: dict[str, Any]  # id, due, subject (the pseudonym), received when known
    plan: dict[str, Any] | None = None  # the plan document, while the plan file holds it
    receipt: dict[str, Any] | None = None
    receipt_path: Path | None = None
    verify: dict[str, Any] | None = None
    verify_path: Path | None = None
    journal_time: str | None = None  # the journal's first line: when apply first started
    order: str = ""  # when it was planned (or applied, for a replaced version); see _ordered

    @property
    def short(self) -> str:
        return self.digest.removeprefix("sha256:")[:12]

    @property
    def label(self) -> str:
        return f"plan {self.name} ({self.path.as_posix()}, {self.short})"

    @property
    def verify_fresh(self) -> bool:
        """A verify record that passed judgement on the last apply run (not an earlier one)."""
        if self.verify is None or self.receipt is None:
            return False
        return str(self.verify["verified"]) >= str(self.receipt["finished"])


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


# -- reading the files ------------------------------------------------------------------------


def gather(request_id: str, folder: Path) -> list[Version]:
    """Every version of every plan in `folder` (not its subfolders) that answers `request_id`,
    with its receipt, verify record and journal time, in the order they were planned.

    Raises UsageError when no plan or receipt names the request, and PlanFileError naming the
    file when a plan file, receipt or verify record there cannot be read.
    """
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such folder of plans")
    found: dict[tuple[Path, str], Version] = {}
    for path in sorted(folder.glob("*.plan.json")):
        doc = load_doc(path)
        if doc["request"] is not None and doc["request"]["id"] == request_id:
            request = dict(doc["request"], subject=doc["request"]["subject"]["pseudonym"])
            found[path, doc["digest"]] = Version(
                path, doc["name"], doc["digest"], request, plan=doc
            )
    for path in sorted(folder.glob("*.receipt.json")):
        _add_receipt(found, path, request_id)
    if not found:
        raise UsageError(f"no plan under {folder} answers request {request_id}")
    for version in found.values():
        _add_evidence(version)
    return _ordered(list(found.values()))


def _add_receipt(found: dict[tuple[Path, str], Version], path: Path, request_id: str) -> None:
    doc = read_receipt(path)
    request = doc.get("request")
    if not isinstance(request, dict) or request.get("id") != request_id:
        return
    named = _RECEIPT_NAME.match(path.name)
    stem = named.group("stem") if named else path.name.removesuffix(".receipt.json")
    plan_path = path.with_name(f"{stem}.plan.json")
    digest = str(doc["plan"]["digest"])
    version = found.get((plan_path, digest))
    if version is None:  # the plan file now holds a later version, or is gone
        version = Version(plan_path, str(doc["plan"]["name"]), digest, dict(request))
        found[plan_path, digest] = version
    version.receipt, version.receipt_path = doc, path


def _add_evidence(version: Version) -> None:
    stem = receipt.run_stem(version.path, version.digest)
    if version.receipt is None:
        json_path = receipt.receipt_paths(version.path, version.digest)[0]
        if json_path.exists():
            version.receipt, version.receipt_path = read_receipt(json_path), json_path
    verify_path = stem.with_name(stem.name + ".verify.json")
    if verify_path.exists():
        version.verify, version.verify_path = read_verify(verify_path), verify_path
    journal_path = stem.with_name(stem.name + ".journal.jsonl")
    if journal_path.exists():
        version.journal_time = _first_time(journal_path)


def read_json(path: Path, what: str) -> dict[str, Any]:
    """The JSON object in `path`; PlanFileError naming the file when it is not one."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PlanFileError(f"{path}: cannot read {what}: {error.strerror}") from None
    except ValueError as error:
        raise PlanFileError(f"{path}: unreadable {what}: {error}") from None
    if not isinstance(doc, dict):
        raise PlanFileError(f"{path}: unreadable {what}: not a JSON object")
    return doc


def read_receipt(path: Path) -> dict[str, Any]:
    """A receipt file, checked for the fields the record and the package read."""
    doc = read_json(path, "receipt")
    plan = doc.get("plan")
    fields_ok = (
        isinstance(plan, dict)
        and isinstance(plan.get("digest"), str)
        and isinstance(plan.get("name"), str)
        and all(isinstance(doc.get(key), str) for key in ("identity", "started", "finished"))
        and isinstance(doc.get("complete"), bool)
        and isinstance(doc.get("items"), list)
        and all(_has_strings(item, "address", "result") for item in doc["items"])
    )
    if not fields_ok:
        raise PlanFileError(f"{path}: not an amlctl receipt (format_version 1.x)")
    return doc


def read_verify(path: Path) -> dict[str, Any]:
    doc = read_json(path, "verify record")
    fields_ok = (
        isinstance(doc.get("verified"), str)
        and isinstance(doc.get("ok"), bool)
        and isinstance(doc.get("checks"), list)
        and all(_has_strings(check, "address", "detail") for check in doc["checks"])
        and all(isinstance(check.get("ok"), bool) for check in doc["checks"])
    )
    if not fields_ok:
        raise PlanFileError(f"{path}: not an amlctl verify record (format_version 1.x)")
    return doc


def _has_strings(value: object, *keys: str) -> bool:
    return isinstance(value, dict) and all(isinstance(value.get(key), str) for key in keys)


def _first_time(journal: Path) -> str | None:
    try:
        with journal.open("rb") as stream:
            first = json.loads(stream.readline())
    except (OSError, ValueError):
        return None  # a journal is no evidence the record needs; the receipt is
    return str(first["time"]) if isinstance(first, dict) and "time" in first else None


def _ordered(versions: list[Version]) -> list[Version]:
    """Versions in the order they were planned.

    A replaced version (receipt only) was applied before the version that replaced it at its
    path was planned, so its apply time stands for its planning time; a plan file's `created`
    is no earlier than that (it may be SOURCE_DATE_EPOCH, not a clock). Ties are broken by
    when apply first started (the journal, to the millisecond), then by path.
    """
    replaced_until: dict[Path, str] = {}
    for version in versions:
        if version.plan is None and version.receipt is not None:
            version.order = str(version.receipt["started"])
            replaced_until[version.path] = max(replaced_until.get(version.path, ""), version.order)
    for version in versions:
        if version.plan is not None:
            version.order = max(str(version.plan["created"]), replaced_until.get(version.path, ""))
    return sorted(
        versions,
        key=lambda v: (v.order, v.journal_time or "~", v.path.as_posix(), v.plan is not None),
    )


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
