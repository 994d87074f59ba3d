"""A plan is keyed by its digest, not its file name: a reviewed plan copied under another name
is the same plan, so its items are never acted on twice, and the record counts it once."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from apply_helpers import DSR, Emulator, Planned, cli, make_plan, start_child

from amlctl.apply.journal import PlanLock


def _apply(path: Path, emu: Emulator) -> tuple[int, str]:
    result = cli("apply", str(path), "--endpoint", emu.origin, "--yes")
    return result.code, result.text


def _copy(planned: Planned, name: str) -> Path:
    copy = planned.path.with_name(name)
    shutil.copyfile(planned.path, copy)
    return copy


def test_a_copy_of_an_applied_plan_deletes_nothing_again(work: Path, emu: Emulator) -> None:
    planned = make_plan(emu, DSR)
    copy = _copy(planned, "q.plan.json")
    assert _apply(planned.path, emu)[0] == 0
    mark = emu.mark()

    code, text = _apply(copy, emu)

    assert code == 0, text  # nothing left to do: the same plan, already applied
    assert f"{copy} is a copy of {planned.path}" in text and "already applied" in text
    assert emu.log(mark) == []
    assert sorted(p.name for p in Path("plans").glob("*.receipt.json")) == [
        f"{planned.path.name.removesuffix('.plan.json')}.{planned.digest[7:19]}.receipt.json"
    ]
    assert not list(Path("plans").glob("q.*.journal.jsonl"))


def test_a_copy_of_a_plan_being_applied_is_refused_by_the_same_lock(
    work: Path, emu: Emulator
) -> None:
    planned = make_plan(emu, DSR)
    copy = _copy(planned, "q.plan.json")
    mark = emu.mark()
    with PlanLock(planned.path, planned.digest):
        code, text = _apply(copy, emu)
    assert code == 1 and "is being applied by" in text
    assert emu.log(mark) == []


def test_a_copy_of_an_interrupted_plan_is_refused_naming_the_one_to_resume(
    work: Path, emu: Emulator
) -> None:
    planned = make_plan(emu, DSR)
    copy = _copy(planned, "q.plan.json")
    emu.set_latency(200)
    child = start_child(
        "apply", str(planned.path), "--endpoint", emu.origin, "--yes", output=work / "out"
    )
    try:
        while not planned.journal_path.exists() or len(planned.journal()) < 3:
            assert child.poll() is None, (work / "out").read_text()
    finally:
        child.kill()
        child.wait(timeout=10)
    emu.settle()
    emu.set_latency(0)
    mark = emu.mark()

    code, text = _apply(copy, emu)

    assert code == 1 and f"resume it with `amlctl apply {planned.path}`" in text
    assert emu.log(mark) == []
    assert _apply(planned.path, emu)[0] == 0  # the original resumes and finishes


def test_the_record_of_the_request_counts_a_copied_plan_once(work: Path, emu: Emulator) -> None:
    planned = make_plan(emu, DSR)
    _copy(planned, "q.plan.json")
    assert _apply(planned.path, emu)[0] == 0
    record = cli("receipt", "DSR-2026-0042", "--format", "json")
    assert record.code == 0, record.err
    doc = json.loads(record.out)
    assert [p["digest"] for p in doc["plans"]] == [planned.digest]
    assert not [o for o in doc["owed"] if o["reason"] == "never-applied"]
