"""The record's rules on literal plans, receipts and verify records (no emulator): which
version says what became of an item, candidates, dropped items, interrupted applies, stale
verifies."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from amlctl.apply.dossier import Version, build

REQUEST = {"id": "DSR-1", "received": "2026-11-20", "due": "2026-12-20", "subject": "subject-1"}
TODAY = date(2026, 12, 2)
A = "delete:ws/model/a:1"
B = "delete:ws/model/b:1"
CANDIDATE = "delete:ws/model_version/7"


def change(address: str, action: str, reason: str = "") -> dict[str, Any]:
    return {"address": address, "action": action, "reason": reason, "title": None}


def plan(created: str, *changes: dict[str, Any]) -> dict[str, Any]:
    return {"created": created, "changes": list(changes)}


def receipt(finished: str, *items: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "started": finished,
        "finished": finished,
        "identity": "operator",
        "complete": all(result in ("deleted", "absent") for _a, result, _d in items),
        "items": [
            {"address": a, "action": "delete", "result": r, "detail": d} for a, r, d in items
        ],
    }


def verify(at: str, *checks: tuple[str, bool]) -> dict[str, Any]:
    return {
        "verified": at,
        "identity": "officer",
        "ok": all(ok for _a, ok in checks),
        "checks": [{"address": a, "ok": ok, "detail": "gone" if ok else "still exists"}
                   for a, ok in checks],
    }


def version(name: str, digest: str, **fields: Any) -> Version:
    found = Version(Path(f"plans/{name}.plan.json"), name, f"sha256:{digest * 64}"[:71],
                    dict(REQUEST), **fields)
    found.order = (fields.get("plan") or {}).get("created") or fields["receipt"]["started"]
    return found


def test_a_candidate_is_owed_without_the_name_it_matched() -> None:
    reason = ("created by 'Jane Doe', a display name only (not unique); if it is hers, add "
              "byDisplayName: true to delete.select[0]")
    only = version("p", "a", plan=plan("2026-11-21T00:00:00Z", change(CANDIDATE, "candidate",
                                                                       reason)),
                   receipt=receipt("2026-11-21T01:00:00Z", (CANDIDATE, "not-done",
                                                            f"candidate: {reason}")))
    only.receipt["items"][0]["action"] = "candidate"
    doc = build("DSR-1", [only], TODAY)
    [owed] = doc["owed"]
    assert owed["reason"] == "candidate"
    assert "Jane Doe" not in str(doc)
    assert owed["detail"].startswith("created by a display name, a display name only")


def test_a_later_version_decides_and_what_it_drops_is_shown_not_owed() -> None:
    first = version("p", "a", receipt=receipt("2026-11-21T01:00:00Z", (A, "blocked", "in use"),
                                              (B, "failed", "503")))
    second = version("p", "b", plan=plan("2026-11-22T00:00:00Z", change(A, "delete")),
                     receipt=receipt("2026-11-22T01:00:00Z", (A, "deleted", "")),
                     verify=verify("2026-11-22T02:00:00Z", (A, True)))
    doc = build("DSR-1", [first, second], TODAY)
    assert doc["owed"] == [] and doc["complete"] is True
    assert [(d["address"], d["reason"]) for d in doc["dropped"]] == [(B, "failed")]
    assert doc["plans"][0]["dropped"] == 1 and doc["plans"][1]["owed"] == 0
    assert "dropped when planning again" in doc["warnings"][0]


def test_an_apply_killed_before_its_receipt_is_owed_as_not_done() -> None:
    killed = version("p", "a", plan=plan("2026-11-21T00:00:00Z", change(A, "delete")),
                     journal_time="2026-11-21T00:10:00.000Z")
    doc = build("DSR-1", [killed], TODAY)
    assert doc["owed"][0]["reason"] == "not-done"
    assert doc["plans"][0]["interrupted"] is True
    assert doc["why_not"][-1].endswith("its apply was interrupted; no receipt")


def test_a_verify_before_the_last_apply_run_does_not_count() -> None:
    stale = version("p", "a", plan=plan("2026-11-21T00:00:00Z", change(A, "delete")),
                    receipt=receipt("2026-11-23T00:00:00Z", (A, "deleted", "")),
                    verify=verify("2026-11-22T00:00:00Z", (A, False)))
    doc = build("DSR-1", [stale], TODAY)
    assert doc["owed"] == []  # the stale verify's failure is not held against the item
    assert doc["complete"] is False
    assert "before its last apply run finished at 2026-11-23T00:00:00Z" in doc["why_not"][0]


def test_completed_after_the_due_date_is_late() -> None:
    done = version("p", "a", plan=plan("2026-11-21T00:00:00Z", change(A, "delete")),
                   receipt=receipt("2026-12-21T00:00:00Z", (A, "deleted", "")),
                   verify=verify("2026-12-22T00:00:00Z", (A, True)))
    doc = build("DSR-1", [done], date(2026, 12, 28))
    assert doc["deadline"] == {"due": "2026-12-20", "days_left": -8, "status": "late",
                               "completed_on": "2026-12-22"}
