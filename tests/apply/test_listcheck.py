"""Deletes checked against their collection's list: one listing instead of a GET per item, and a
changed item is still skipped, never deleted as if unchanged."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from apply_helpers import DSR, FULL_EXPORT, Emulator, cli, log_path_of, make_plan, ws_key

from amlctl.apply import listcheck
from amlctl.emulator.seed import WORKSPACE


def test_deletes_read_their_collection_once_and_skip_what_changed(
    work: Path, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listcheck, "LIST_FROM", 1)  # the demo deletes only a few per collection
    planned = make_plan(emu, DSR)
    stale = "fraud-detect:2"
    emu.store.patch(ws_key(WORKSPACE), "model", stale,
                    {"modifiedTime": "2026-11-30T10:00:00.0000000+00:00"})
    mark = emu.mark()

    result = cli("apply", str(planned.path), "--endpoint", emu.origin, "--yes")

    assert result.code == 3, result.text
    items = planned.receipt_items()
    assert items[f"delete:{WORKSPACE}/model/{stale}"]["detail"].startswith("changed-since-plan")
    log = emu.log(mark)
    gets = Counter(e["path"] for e in log if e["method"] == "GET")
    deleted = [c for c in planned.deletes if items[c["address"]]["result"] == "deleted"]
    assert deleted
    for change in deleted:  # read once, by its export, if at all: not again before its DELETE
        assert gets[log_path_of(change["url"])] <= 1, change["address"]
    stale_path = log_path_of(planned.change(f"delete:{WORKSPACE}/model/{stale}")["url"])
    assert stale_path not in {e["path"] for e in log if e["method"] == "DELETE"}
    assert emu.store.get(ws_key(WORKSPACE), "model", stale) is not None


def test_artifacts_of_one_container_are_read_from_one_listing(work: Path, emu: Emulator) -> None:
    planned = make_plan(emu, FULL_EXPORT)
    artifacts = [c for c in planned.changes if c["kind"] == "artifact" and c["action"] == "export"]
    containers = Counter(log_path_of(c["url"]) for c in artifacts)
    assert max(containers.values()) > 1  # the demo's runs keep several files each
    mark = emu.mark()

    result = cli("apply", str(planned.path), "--endpoint", emu.origin, "--yes")

    assert result.code == 0, result.text
    listed = Counter(e["path"] for e in emu.log(mark) if e["path"] in containers)
    assert listed == Counter(dict.fromkeys(containers, 1))  # each container once, for all
    items = planned.receipt_items()
    assert all(items[c["address"]]["result"] == "exported" for c in artifacts)
