"""Evidence that never says more than what happened: blocked deletes are foreseen in the plan,
never sent, and keep the receipt from saying "complete"."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from apply_helpers import DSR, Emulator, cli, emulator, log_path_of, make_plan, plan_manifest

from amlctl.apply.receipt import markdown
from amlctl.emulator.seed import RESOURCE_GROUP, SUBSCRIPTION, WORKSPACE
from amlctl.emulator.store import workspace_key

# Model fraud-detect:1 is used by image fraud-img:1 (demo data); this plan keeps the image.
KEEPS_THE_IMAGE = """\
version: 1
name: keeps-the-image
catalog: azureml-2019-11-01
workspaces:
  - {subscriptionId: 6a3c9f1e-2b4d-4c8a-9e1f-0123456789ab, resourceGroup: demo-rg,
     workspace: demo-ws, location: eastus}
delete:
  select:
    - {kind: model, ids: ["fraud-detect:1", "churn-model:2"]}
"""
BLOCKED = f"delete:{WORKSPACE}/model/fraud-detect:1"
FREE = f"delete:{WORKSPACE}/model/churn-model:2"


@pytest.fixture
def emu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    monkeypatch.chdir(tmp_path)
    with emulator(tmp_path / "emu") as running:
        yield running


def test_a_delete_the_service_would_refuse_is_blocked_in_the_plan(
    tmp_path: Path, emu: Emulator
) -> None:
    manifest = tmp_path / "keeps-the-image.yaml"
    manifest.write_text(KEEPS_THE_IMAGE)
    result = cli("plan", manifest.name, "--endpoint", emu.origin)
    assert result.code == 0, result.err
    line = next(line for line in result.out.splitlines() if "fraud-detect:1" in line)
    assert line.lstrip().startswith("x blocked")
    # The blocker, and the selector that would add it.
    assert "used by image fraud-img:1, which this plan keeps" in line
    assert '{kind: image, ids: ["fraud-img:1"]}' in line
    assert "Plan: 0 to export, 1 to delete, 1 blocked" in result.out


def test_a_blocked_delete_is_never_sent_and_the_receipt_is_not_complete(
    tmp_path: Path, emu: Emulator
) -> None:
    manifest = tmp_path / "keeps-the-image.yaml"
    manifest.write_text(KEEPS_THE_IMAGE)
    planned = plan_manifest(emu, manifest)
    assert planned.change(BLOCKED)["action"] == "blocked"
    mark = emu.mark()

    result = cli("apply", str(planned.path), "--endpoint", emu.origin, "--yes")

    assert result.code == 3, result.text
    sent = [entry["path"] for entry in emu.deletes(mark)]
    assert sent == [log_path_of(planned.change(FREE)["url"])]
    receipt = planned.receipt()
    assert receipt["complete"] is False
    assert receipt["summary"]["blocked"] == 1 and receipt["summary"]["deleted"] == 1
    item = planned.receipt_items()[BLOCKED]
    assert item["result"] == "blocked"
    assert item["detail"].startswith("blocked in the plan: used by image fraud-img:1")
    assert "API changes complete: no" in planned.receipt_markdown()
    assert "Apply finished with items left" in result.out


def test_verify_fails_on_a_blocked_delete_and_names_it(tmp_path: Path, emu: Emulator) -> None:
    manifest = tmp_path / "keeps-the-image.yaml"
    manifest.write_text(KEEPS_THE_IMAGE)
    planned = plan_manifest(emu, manifest)
    assert cli("apply", str(planned.path), "--endpoint", emu.origin, "--yes").code == 3

    result = cli("verify", str(planned.path), "--endpoint", emu.origin, "--manual-done", "all")

    assert result.code == 1, result.text
    assert f"{BLOCKED}: still exists" in result.out
    assert "apply: blocked (blocked in the plan: used by image fraud-img:1" in result.out
    assert FREE not in result.out  # done, and gone
    assert "verify failed: 1 of" in result.err
    kept = json.loads(next(Path("plans").glob("keeps-the-image.*.verify.json")).read_text())
    assert kept["ok"] is False
    assert {c["address"]: c["ok"] for c in kept["checks"]}[BLOCKED] is False


def test_verify_wants_each_manual_step_confirmed(tmp_path: Path, emu: Emulator) -> None:
    planned = make_plan(emu, DSR)
    assert cli("apply", str(planned.path), "--endpoint", emu.origin, "--yes").code == 0
    verify = ("verify", str(planned.path), "--endpoint", emu.origin)
    steps = sorted({c["id"] for c in planned.changes if c["action"] == "manual"})
    assert steps

    unconfirmed = cli(*verify)
    assert unconfirmed.code == 1
    for step in steps:
        assert "manual step not confirmed" in unconfirmed.out and step in unconfirmed.out
    typo = cli(*verify, "--manual-done", "designer-drafts")
    assert typo.code == 1 and "not a manual step of this plan" in typo.err
    some = [arg for step in steps[:-1] for arg in ("--manual-done", step)]
    assert cli(*verify, *some).code == 1
    every = [arg for step in steps for arg in ("--manual-done", step)]
    done = cli(*verify, *every)
    assert done.code == 0, done.text
    assert f"{len(steps) * 2} manual step(s) confirmed" in done.out  # two workspaces


def test_apply_format_json_writes_only_json_to_stdout(tmp_path: Path, emu: Emulator) -> None:
    planned = make_plan(emu, DSR)
    result = cli("apply", str(planned.path), "--endpoint", emu.origin, "--yes", "--format", "json")
    assert result.code == 0, result.text
    lines = [json.loads(line) for line in result.out.splitlines()]  # every line is JSON
    *items, summary = lines
    assert {item["address"] for item in items} == {
        c["address"] for c in planned.changes if c["action"] in ("export", "delete")
    }
    assert summary["complete"] is True and summary["exit_code"] == 0
    assert summary["receipt"].endswith(".receipt.json")
    # People's text (the plan, the outcome) went to stderr.
    assert "amlctl plan: dsr-2026-0042" in result.err and "Apply complete" in result.err


def test_plan_does_not_overwrite_an_applied_plan_unless_told(
    tmp_path: Path, emu: Emulator
) -> None:
    planned = make_plan(emu, DSR)
    assert cli("apply", str(planned.path), "--endpoint", emu.origin, "--yes").code == 0
    before = planned.path.read_bytes()

    again = cli("plan", f"{DSR}.yaml", "--endpoint", emu.origin)
    assert again.code == 1
    assert f"{planned.path} was applied (its evidence: " in again.err and "--replace" in again.err
    assert planned.path.read_bytes() == before  # untouched, and nothing was read
    elsewhere = cli("plan", f"{DSR}.yaml", "--endpoint", emu.origin, "-o", "plans/second.plan.json")
    assert elsewhere.code == 0, elsewhere.err
    replaced = cli("plan", f"{DSR}.yaml", "--endpoint", emu.origin, "--replace")
    assert replaced.code == 0, replaced.err
    assert planned.path.read_bytes() != before
    assert list(Path("plans").glob("dsr-export-erase.*.receipt.json"))  # the evidence stays


def test_the_receipt_lists_manual_steps_owed_and_what_cannot_be_erased(
    tmp_path: Path, emu: Emulator
) -> None:
    planned = make_plan(emu, DSR)
    assert cli("apply", str(planned.path), "--endpoint", emu.origin, "--yes").code == 0
    receipt = planned.receipt()
    steps = {c["address"] for c in planned.changes if c["action"] == "manual"}
    assert {m["address"] for m in receipt["manual"]} == steps
    assert all(m["state"].startswith("owed: no API") for m in receipt["manual"])
    erase = [n for n in receipt["notes"] if "not erasable" in n]
    assert {n.split(":", 1)[0] for n in erase} == {"run", "metric", "artifact", "notification_task"}
    text = planned.receipt_markdown()
    assert "## Manual steps (owed)" in text and "## Notes from the plan" in text
    assert "run: not erasable with catalog azureml-2019-11-01" in text
    # Its rows were kept as the JSON was written; made again from the JSON, they read the same.
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    again = [line for line in markdown(receipt).splitlines() if line.startswith("| ")]
    assert rows == again and len(rows) == len(receipt["items"]) + 1  # and the header


def test_server_text_never_reaches_the_terminal_raw(tmp_path: Path, emu: Emulator) -> None:
    """An id with a right-to-left override (URL-safe, so the plan can hold it) is shown as an
    escape in apply's progress lines, never obeyed. (Ids with control characters never get
    that far: a URL segment refuses them.)"""
    evil = "evil\u202ecod.exe:1"
    ws = workspace_key(SUBSCRIPTION, RESOURCE_GROUP, WORKSPACE)
    emu.store.put(ws, "model", evil, {"id": evil, "name": "evil", "version": 1,
                                      "modifiedTime": "2026-11-30T10:00:00Z", "runId": None})
    manifest = tmp_path / "evil.yaml"
    manifest.write_text(KEEPS_THE_IMAGE.replace(
        "delete:\n  select:\n    - {kind: model, ids: [\"fraud-detect:1\", \"churn-model:2\"]}",
        "export:\n  to: exports/evil\n  select:\n"
        "    - {kind: model, where: {name: {equals: evil}}}"))
    planned = plan_manifest(emu, manifest)
    assert [c["id"] for c in planned.exports] == [evil]
    result = cli("apply", str(planned.path), "--endpoint", emu.origin, "--yes")
    assert result.code == 3, result.text  # the emulator refuses such a segment, as Azure does
    assert "\u202e" not in result.out + result.err
    assert "failed   export:demo-ws/model/evil\\u202ecod.exe:1  (GET https://" in result.out
