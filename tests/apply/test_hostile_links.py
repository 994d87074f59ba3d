"""A link the service hands back that amlctl will not follow (a poll link in the journal, an
artifact's download link) fails that one item, with the reason; the rest goes on and the run
ends with a receipt, instead of the whole apply stopping at the first such link."""

from __future__ import annotations

from pathlib import Path

from apply_helpers import (
    DSR,
    TEARDOWN,
    Emulator,
    Planned,
    cli,
    log_path_of,
    make_plan,
    ws_key,
)

from amlctl.apply.journal import DELETE_ACCEPTED, START, Journal

EVIL = "https://evil.example.com/steal?sig=x"


def _apply(planned: Planned, emu: Emulator) -> tuple[int, str]:
    result = cli("apply", str(planned.path), "--endpoint", emu.origin, "--yes")
    return result.code, result.text


def test_a_refused_download_link_fails_only_its_artifact(work: Path, emu: Emulator) -> None:
    first = make_plan(emu, DSR)
    artifact = next(c for c in first.exports if c["kind"] == "artifact")
    item_id = artifact["id"].split("/", 1)[1] if "/" in artifact["id"] else artifact["id"]
    emu.store.patch(ws_key(artifact["workspace"]), "artifact", item_id, {"contentUri": EVIL})
    planned = make_plan(emu, DSR)  # planned with the hostile link in place
    mark = emu.mark()

    code, text = _apply(planned, emu)

    assert code == 3, text  # partly applied: re-run to resume
    items = planned.receipt_items()
    bad = items[artifact["address"]]
    assert bad["result"] == "failed" and "download link" in bad["detail"], bad
    assert "evil.example.com" in bad["detail"]
    others = [i for a, i in items.items() if i["action"] == "export" and a != artifact["address"]]
    assert others and all(i["result"] == "exported" for i in others)
    # Nothing is deleted while an export of the plan is owed (a copy before erasure).
    assert emu.deletes(mark) == []
    assert all(i["result"] == "not-done" for i in items.values() if i["action"] == "delete")
    assert not any("evil" in e["path"] for e in emu.log(mark))


def test_a_hostile_poll_link_in_the_journal_fails_only_its_delete(
    work: Path, emu: Emulator
) -> None:
    planned = make_plan(emu, TEARDOWN)
    workspace = next(c for c in planned.deletes if c["kind"] == "workspace")
    with Journal.open(planned.journal_path) as journal:
        journal.append(START, plan_digest=planned.digest, target=planned.doc["target"],
                       started="2026-11-20T00:00:00Z")
        journal.append(DELETE_ACCEPTED, workspace["address"], status=202, request_id="r",
                       poll_url=EVIL, via="azure-asyncoperation")
    mark = emu.mark()

    code, text = _apply(planned, emu)

    assert code == 3, text
    items = planned.receipt_items()
    bad = items[workspace["address"]]
    assert bad["result"] == "failed" and "poll link" in bad["detail"], bad
    done = [i for a, i in items.items() if a != workspace["address"]]
    assert done and all(i["result"] in ("deleted", "absent", "exported") for i in done), done
    sent = {e["path"] for e in emu.deletes(mark)}
    assert log_path_of(workspace["url"]) not in sent  # accepted once: never sent again
