"""`amlctl receipt REQUEST-ID`: one record of a request over every plan that answers it, end to
end on the emulator (plan, apply, verify, then the record)."""

from __future__ import annotations

import json
import os
import shutil
import stat
from calendar import timegm
from pathlib import Path
from typing import Any

import pytest
from apply_helpers import EXAMPLES, Emulator, Planned, cli, plan_manifest

from amlctl.emulator.seed import WORKSPACE

REQUEST = "DSR-2026-0042"
SUBJECT_OID = "8b0c2f4e-0000-4000-8000-000000000042"
HEADER = """\
version: 1
name: {name}
catalog: azureml-2019-11-01
request:
  id: DSR-2026-0042
  received: "2026-11-20"
  subject:
    userObjectId: 8b0c2f4e-0000-4000-8000-000000000042
workspaces:
  - {{subscriptionId: 6a3c9f1e-2b4d-4c8a-9e1f-0123456789ab, resourceGroup: demo-rg,
     workspace: demo-ws, location: eastus}}
delete:
  select:
"""
# Model fraud-detect:1 is used by image fraud-img:1, which service fraud-svc runs (demo data):
# the first plan keeps both, so that delete is blocked; the second deletes them too.
FIRST = HEADER.format(name="dsr-erase-first") + (
    '    - {kind: model, ids: ["fraud-detect:1", "churn-model:2"]}\n'
)
SECOND = HEADER.format(name="dsr-erase-second") + (
    '    - {kind: service, ids: ["fraud-svc"]}\n'
    '    - {kind: image, ids: ["fraud-img:1"]}\n'
    '    - {kind: model, ids: ["fraud-detect:1"]}\n'
)
BLOCKED = f"delete:{WORKSPACE}/model/fraud-detect:1"


def plan_text(emu: Emulator, name: str, text: str) -> Planned:
    manifest = Path(f"{name}.yaml")
    manifest.write_text(text)
    return plan_manifest(emu, manifest)


def apply(planned: Planned, emu: Emulator) -> int:
    return cli("apply", str(planned.path), "--endpoint", emu.origin, "--yes").code


def verify(planned: Planned, emu: Emulator) -> int:
    return cli("verify", str(planned.path), "--endpoint", emu.origin, "--manual-done", "all").code


def record(*more: str) -> dict[str, Any]:
    result = cli("receipt", REQUEST, "--format", "json", *more)
    assert result.code == 0, result.err
    doc: dict[str, Any] = json.loads(result.out)
    return doc


def on_day(monkeypatch: pytest.MonkeyPatch, day: str) -> None:
    """Make `day` (YYYY-MM-DD) today for the record, as SOURCE_DATE_EPOCH does."""
    epoch = timegm((int(day[:4]), int(day[5:7]), int(day[8:10]), 12, 0, 0, 0, 0, 0))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(epoch))


def test_a_replan_that_finishes_a_blocked_delete_completes_the_request(emu: Emulator) -> None:
    first = plan_text(emu, "first", FIRST)
    assert first.change(BLOCKED)["action"] == "blocked"
    assert apply(first, emu) == 3
    assert verify(first, emu) == 1

    before = record()
    assert before["complete"] is False
    [owed] = before["owed"]
    assert (owed["address"], owed["reason"]) == (BLOCKED, "blocked")
    assert owed["plan"] == "dsr-erase-first"
    assert "used by image fraud-img:1" in owed["detail"]
    label = f"plan dsr-erase-first ({first.path.as_posix()}, {first.digest[7:19]})"
    assert f"{label}: 1 item still owed" in before["why_not"]
    assert any(r.startswith(f"{label}: its last verify") and "failed on 1 item" in r
               for r in before["why_not"])
    assert before["totals"]["deleted"] == 1 and before["totals"]["owed"] == 1

    second = plan_text(emu, "second", SECOND)
    assert apply(second, emu) == 0
    assert verify(second, emu) == 0
    middle = record()
    assert middle["owed"] == []  # planned in the first plan, done in the second: done
    done = {item["address"]: item for item in middle["done"]}
    assert (done[BLOCKED]["result"], done[BLOCKED]["plan"]) == ("deleted", "dsr-erase-second")
    assert middle["totals"]["deleted"] == 4
    # The first plan's verify failed before the second plan finished: verify it again.
    assert middle["complete"] is False
    assert middle["why_not"] == [
        f"{label}: its last verify ({middle['plans'][0]['verified']['at']}) failed on 1 item; "
        "1 of them done since: verify it again"
    ]

    assert verify(first, emu) == 0  # gone now, though its apply could not delete it
    after = record()
    assert after["complete"] is True and after["why_not"] == []
    assert [p["name"] for p in after["plans"]] == ["dsr-erase-first", "dsr-erase-second"]
    assert all(p["latest"] and p["verified"]["ok"] for p in after["plans"])
    assert after["plans"][0]["applied"]["complete"] is False  # its receipt stays as it was
    assert after["deadline"]["status"] == "met"
    text = cli("receipt", REQUEST, "--format", "text")
    assert "Complete: yes" in text.out and "Owed: 0 items" in text.out


def test_a_plan_replaced_at_its_path_is_read_from_its_receipt(emu: Emulator) -> None:
    first = plan_text(emu, "erase", FIRST)
    assert apply(first, emu) == 3
    # Plan the edited manifest again over the same plan file, as `plan --replace` does.
    Path("erase.yaml").write_text(SECOND.replace("dsr-erase-second", "dsr-erase-first"))
    replan = cli("plan", "erase.yaml", "--endpoint", emu.origin, "-o", "plans/new.plan.json")
    assert replan.code == 0, replan.err
    os.replace("plans/new.plan.json", first.path)
    second = Planned(first.path, json.loads(first.path.read_text()))
    assert second.digest != first.digest
    assert apply(second, emu) == 0

    unverified = record()
    old, new = unverified["plans"]
    assert (old["digest"], old["in_plan_file"], old["latest"]) == (first.digest, False, False)
    assert old["planned"] is None and old["applied"]["complete"] is False
    assert (new["digest"], new["in_plan_file"], new["latest"]) == (second.digest, True, True)
    # The blocked delete is done; only the manual steps wait for a verify to confirm them.
    assert {item["reason"] for item in unverified["owed"]} == {"manual-unconfirmed"}
    label = f"plan dsr-erase-first ({first.path.as_posix()}, {second.digest[7:19]})"
    assert unverified["why_not"] == [
        f"{label}: 2 items still owed",
        f"{label}: not verified (run amlctl verify {first.path.as_posix()})",
    ]

    assert verify(second, emu) == 0
    after = record()
    assert after["complete"] is True  # a replaced version needs no verify of its own
    done = {item["address"]: item for item in after["done"]}
    assert done[BLOCKED]["digest"] == second.digest
    assert done[f"delete:{WORKSPACE}/model/churn-model:2"]["digest"] == first.digest
    assert "replaced since" in cli("receipt", REQUEST, "--format", "text").out


def test_due_soon_overdue_and_due_today(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    first = plan_text(emu, "first", FIRST)
    assert apply(first, emu) == 3  # due 2026-12-20 (received 2026-11-20), not complete

    on_day(monkeypatch, "2026-12-15")
    soon = record()
    assert soon["today"] == "2026-12-15"
    assert soon["deadline"] == {
        "due": "2026-12-20", "days_left": 5, "status": "due-soon", "completed_on": None
    }
    assert "Due 2026-12-20: 5 days left, due soon" in cli("receipt", REQUEST,
                                                          "--format", "text").out
    on_day(monkeypatch, "2026-12-20")
    assert record()["deadline"]["status"] == "due-today"
    on_day(monkeypatch, "2026-12-23")
    late = record()
    assert (late["deadline"]["days_left"], late["deadline"]["status"]) == (-3, "overdue")
    assert "OVERDUE by 3 days (today 2026-12-23)" in cli("receipt", REQUEST,
                                                         "--format", "markdown").out
    on_day(monkeypatch, "2026-12-01")
    assert record()["deadline"]["status"] == "open"


def test_the_json_shape(emu: Emulator) -> None:
    first = plan_text(emu, "first", FIRST)
    assert apply(first, emu) == 3
    result = cli("receipt", REQUEST)  # not a terminal: JSON by default
    doc = json.loads(result.out)
    assert set(doc) == {
        "format_version", "request", "today", "deadline", "complete", "why_not", "plans",
        "totals", "owed", "dropped", "done", "warnings",
    }
    assert doc["format_version"] == "1.0"
    assert doc["request"] == {
        "id": REQUEST, "received": "2026-11-20", "due": "2026-12-20",
        "subject": first.doc["request"]["subject"]["pseudonym"],
    }
    [plan] = doc["plans"]
    assert set(plan) == {
        "name", "path", "digest", "latest", "in_plan_file", "planned", "applied",
        "interrupted", "verified", "owed", "dropped",
    }
    assert plan["planned"] == first.doc["created"] and plan["verified"] is None
    assert set(plan["applied"]) == {"started", "finished", "by", "complete", "receipt"}
    assert plan["applied"]["by"] == "emulator"
    assert plan["applied"]["receipt"] == f"plans/first.{first.digest[7:19]}.receipt.json"
    assert set(doc["totals"]) == {
        "exported", "unchanged", "deleted", "absent", "confirmed", "owed", "owed_by_reason",
        "dropped",
    }
    # Owed: the blocked delete, and the manual steps nobody confirmed (no verify yet).
    reasons = {item["address"]: item["reason"] for item in doc["owed"]}
    assert reasons[BLOCKED] == "blocked"
    assert {r for a, r in reasons.items() if a.startswith("manual:")} == {"manual-unconfirmed"}
    assert doc["totals"]["owed_by_reason"] == {"blocked": 1, "manual-unconfirmed": 2}
    assert set(doc["owed"][0]) == {
        "address", "workspace", "kind", "id", "reason", "detail", "plan", "digest"
    }
    assert set(doc["done"][0]) == {
        "address", "workspace", "kind", "id", "result", "detail", "plan", "digest"
    }


def test_o_writes_the_chosen_format_privately(emu: Emulator) -> None:
    first = plan_text(emu, "first", FIRST)
    assert apply(first, emu) == 3
    result = cli("receipt", REQUEST, "-o", "records/dsr.md")
    assert result.code == 0 and result.out == ""
    assert "Saved the record of DSR-2026-0042 (not complete) to records/dsr.md" in result.err
    written = Path("records/dsr.md")
    assert written.read_text().startswith("# Request DSR-2026-0042")
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert cli("receipt", REQUEST, "-o", "records/dsr.json").code == 0
    assert json.loads(Path("records/dsr.json").read_text())["request"]["id"] == REQUEST
    assert cli("receipt", REQUEST, "--format", "xml").code == 1


def test_a_plan_never_applied_is_owed_and_names_no_identifier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plans" / "examples").mkdir(parents=True)
    shutil.copy(EXAMPLES / "dsr-export-erase.plan.json", tmp_path / "plans" / "examples")
    # plans/examples is not read unless --plans names it.
    missing = cli("receipt", REQUEST)
    assert missing.code == 1 and f"no plan under plans answers request {REQUEST}" in missing.err
    doc = record("--plans", "plans/examples")
    assert doc["complete"] is False
    assert {item["reason"] for item in doc["owed"]} == {"never-applied", "manual-unconfirmed"}
    assert doc["totals"]["owed"] == 35 + 12 + 6 and doc["totals"]["absent"] == 4
    assert any(r.endswith("never applied; no receipt") for r in doc["why_not"])
    for fmt in ("text", "markdown", "json"):
        shown = cli("receipt", REQUEST, "--plans", "plans/examples", "--format", fmt)
        assert shown.code == 0
        assert SUBJECT_OID not in shown.out and "Jane Doe" not in shown.out


def test_an_unreadable_file_is_named(emu: Emulator) -> None:
    first = plan_text(emu, "first", FIRST)
    assert apply(first, emu) == 3
    receipt = Path(f"plans/first.{first.digest[7:19]}.receipt.json")
    receipt.write_text('{"plan": ')
    result = cli("receipt", REQUEST)
    assert result.code == 1 and f"{receipt}: unreadable receipt" in result.err
    receipt.unlink()
    Path("plans/broken.plan.json").write_text("{}")
    result = cli("receipt", REQUEST)
    assert result.code == 1 and "plans/broken.plan.json" in result.err
    assert cli("receipt", "DSR-0000-0000", "--plans", "nowhere").code == 1
