"""Resuming `amlctl apply` after SIGKILL, and finishing under injected faults.

Apply runs in a child process against an emulator in this process. The emulator's latency
slows the child down enough to kill it at a chosen point, found by watching the journal for a
given number of events: during the exports, between deletes, with a DELETE on the wire whose
answer the child never reads, and during the workspace delete's long-running operation. The
same `amlctl apply` then runs again and must finish the plan with every item done exactly once.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from apply_helpers import (
    DSR,
    TEARDOWN,
    Emulator,
    Planned,
    cli,
    count_events,
    emulator,
    kill,
    log_path_of,
    make_plan,
    start_child,
    temp_leftovers,
    terminal_counts,
    wait_for_event,
    ws_key,
)

import amlctl.azure.client as client_module
from amlctl.azure.retry import backoff_delays
from amlctl.emulator.seed import (
    RESOURCE_GROUP,
    SUBJECT_EU_MODEL_IDS,
    SUBJECT_MODEL_IDS,
    SUBSCRIPTION,
    WORKSPACE,
    WORKSPACE_EU,
)

ANSWER_LOST = "gone after a DELETE whose answer was lost"
REFUSED = frozenset({"500", "503", "reset"})  # injected before the server acts
FAULT_SEED = 27


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


@dataclass(frozen=True)
class KillPoint:
    """Where to kill the child: once its journal holds `count` `event` records, or, with
    `hold`, once the emulator acted on the `count`-th call of that store method (a DELETE)
    while it holds the answer back: the child dies not knowing the outcome."""

    manifest: str
    event: str
    count: int
    latency_ms: int = 25  # per request, while the child runs up to the kill point
    lro_polls: int = 1
    hold: str | None = None


POINTS = {
    "during-exports": KillPoint(DSR, "export-done", 6),
    "between-deletes": KillPoint(DSR, "delete-done", 5),
    "delete-answer-lost": KillPoint(DSR, "delete-sent", 4, hold="delete"),
    "workspace-delete-answer-lost": KillPoint(TEARDOWN, "delete-sent", 1, hold="delete_workspace"),
    "during-workspace-lro": KillPoint(
        TEARDOWN, "delete-accepted", 1, 5, lro_polls=3, hold="poll_operation"
    ),
}


@pytest.fixture(params=sorted(POINTS), ids=str)
def point(request: pytest.FixtureRequest) -> KillPoint:
    return POINTS[str(request.param)]


@pytest.fixture
def emu(tmp_path: Path, point: KillPoint) -> Iterator[Emulator]:
    with emulator(tmp_path / "emu", lro_polls=point.lro_polls) as running:
        yield running


def apply_args(planned: Planned, emu: Emulator) -> tuple[str, ...]:
    return ("apply", str(planned.path), "--endpoint", emu.origin, "--yes", "--parallelism", "1")


def hold_answer(
    monkeypatch: pytest.MonkeyPatch, store: Any, method: str, nth: int, seconds: float = 0.3
) -> tuple[threading.Event, threading.Event]:
    """Make the `nth` call of `store.<method>` act, then hold the emulator's answer for
    `seconds`. Returns events set when it has acted and when the answer goes out."""
    real = getattr(store, method)
    calls = [0]
    acted, answered = threading.Event(), threading.Event()

    def holding(*args: Any) -> Any:
        result = real(*args)
        calls[0] += 1
        if calls[0] == nth:
            acted.set()
            time.sleep(seconds)
            answered.set()
        return result

    monkeypatch.setattr(store, method, holding)
    return acted, answered


def test_apply_killed_then_resumed_does_every_item_exactly_once(
    work: Path, emu: Emulator, point: KillPoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    planned = make_plan(emu, point.manifest)
    held = hold_answer(monkeypatch, emu.store, point.hold, point.count) if point.hold else None
    emu.set_latency(point.latency_ms)
    child = start_child(*apply_args(planned, emu), output=work / "killed.out")
    try:
        if held is not None:
            assert held[0].wait(20), "the held DELETE never reached the emulator"
        else:
            wait_for_event(planned.journal_path, point.event, point.count, child)
        if point.event == "export-done":
            # A second apply while the first runs is refused at once, naming the holder.
            second = cli(*apply_args(planned, emu))
            assert second.code == 1
            assert f"being applied by pid {child.pid}" in second.err
    finally:
        kill(child)
    assert child.returncode == -9
    if held is not None:
        assert held[1].wait(5)
    emu.settle()  # requests the dead child sent are still answered (and act on the store)
    emu.set_latency(0)
    killed = planned.journal()
    assert not any(r["event"] == "finish" for r in killed)
    unknown = in_flight(killed, "delete-sent")
    accepted = in_flight(killed, "delete-accepted")
    # The kill came where it was meant to.
    events = Counter(r["event"] for r in killed)
    deletes = len(planned.deletes)
    if point.event == "export-done":
        assert events["export-done"] < len(planned.exports) and not events["delete-sent"]
    if point.event == "delete-done":
        assert 0 < events["delete-done"] < deletes
    if point.event == "delete-sent":
        assert len(unknown) == 1, "the kill was meant to leave a DELETE with no known answer"
    if point.event == "delete-accepted":
        assert accepted and events["delete-done"] == deletes - 1
    root = planned.export_root
    # Killed mid-way, no final name holds a partial file: every JSON file parses. A torn
    # write leaves only a temp file, which the re-run removes (one is planted here).
    for path in root.rglob("*.json"):
        json.loads(path.read_bytes())
    if point.event == "export-done":
        torn = next(p for p in root.rglob("*.json") if p.name != "index.json")
        (torn.parent / ".amlctl-tmp-0123456789abcdef").write_bytes(torn.read_bytes()[:10])
    mark = emu.mark()

    result = cli(*apply_args(planned, emu))

    assert result.code == 0, result.text
    assert "Apply complete" in result.out
    # The evidence shows the re-run was a resume of the same journal, not a fresh start.
    resumed = planned.journal()
    assert [r["event"] for r in resumed].count("start") == 1
    assert resumed[len(killed)]["event"] == "resume"
    rerun = emu.log(mark)
    check_every_item_done_once(planned, emu, killed)
    for address in unknown:
        # A DELETE whose answer was lost is looked at (GET) before anything is sent again;
        # the server had acted, so it is found gone and not sent again.
        url = log_path_of(planned.change(address)["url"])
        touched = [e["method"] for e in rerun if e["path"] == url]
        assert touched == ["GET"], (address, touched)
        assert planned.receipt_items()[address]["detail"] == ANSWER_LOST
    for address in accepted:
        # An accepted (202) delete is polled to its end, never sent again.
        url = log_path_of(planned.change(address)["url"])
        assert not [e for e in rerun if e["path"] == url]
        assert [e for e in rerun if "workspaceOperationsStatus" in e["path"]]
        assert planned.receipt_items()[address]["detail"] == "long-running delete succeeded"
    if point.manifest == TEARDOWN:
        assert emu.store.get_workspace(SUBSCRIPTION, RESOURCE_GROUP, WORKSPACE_EU) is None
        assert emu.store.count(ws_key(WORKSPACE_EU)) == 0


def in_flight(journal: list[dict[str, Any]], event: str) -> list[str]:
    """Addresses whose last journal record is `event` (a DELETE with no recorded end)."""
    last: dict[str, str] = {}
    for record in journal:
        if record["address"] is not None:
            last[record["address"]] = record["event"]
    return sorted(address for address, seen in last.items() if seen == event)


def check_every_item_done_once(
    planned: Planned, emu: Emulator, killed: list[dict[str, Any]] | None = None
) -> None:
    journal = planned.journal()
    if killed is not None:
        assert journal[: len(killed)] == killed  # append-only: the killed run's records kept
    # Each planned item has exactly one terminal record, across the runs.
    planned_addresses = {c["address"] for c in planned.exports + planned.deletes}
    assert terminal_counts(journal) == Counter(dict.fromkeys(planned_addresses, 1))
    assert journal[-1]["event"] == "finish"
    # Each planned DELETE acted on the server exactly once, over every run, and was never sent
    # again after that: only tries the server refused before acting (5xx, reset) came before.
    deletes = emu.deletes()
    urls = {log_path_of(c["url"]) for c in planned.deletes}
    assert {e["path"] for e in deletes} == urls
    for url in urls:
        tries = [e for e in deletes if e["path"] == url]
        assert tries[-1]["status"] in (200, 202) and tries[-1].get("fault") not in REFUSED, tries
        for refused in tries[:-1]:
            assert refused.get("fault") in REFUSED or refused["status"] == 500, tries
    # The receipt is complete and accounts for every item.
    receipt = planned.receipt()
    assert receipt["complete"] is True
    assert {i["address"] for i in receipt["items"]} == planned_addresses
    for item in receipt["items"]:
        assert item["result"] == ("exported" if item["action"] == "export" else "deleted"), item
        assert item["request_id"]
    # No temp file left, and every exported file matches its recorded hash.
    assert temp_leftovers(planned.export_root) == []
    verify = cli("verify", str(planned.path), "--endpoint", emu.origin, "--manual-done", "all")
    assert verify.code == 0, verify.text


# -- failures ---------------------------------------------------------------------------------


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry at once (the client's backoff schedule, shortened; its attempts unchanged)."""
    monkeypatch.setattr(
        client_module, "backoff_delays", functools.partial(backoff_delays, start=0.01, cap=0.02)
    )


def fail_store_calls(
    monkeypatch: pytest.MonkeyPatch, store: Any, method: str, kind: str, item_id: str, times: int
) -> list[int]:
    """Make `store.<method>(ws, kind, item_id)` raise `times` times: the emulator answers those
    requests 500 without acting. Returns a one-element list counting the failures served."""
    real = getattr(store, method)
    served = [0]

    def flaky(ws: str, asked_kind: str, asked_id: str) -> Any:
        if (asked_kind, asked_id) == (kind, item_id) and served[0] < times:
            served[0] += 1
            raise RuntimeError("injected store failure")
        return real(ws, asked_kind, asked_id)

    monkeypatch.setattr(store, method, flaky)
    return served


def test_no_delete_while_an_export_is_owed(
    work: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast_retries: None
) -> None:
    with emulator(tmp_path / "emu") as emu:
        planned = make_plan(emu, DSR)
        model = SUBJECT_MODEL_IDS[0]  # exported, then deleted, by this plan
        served = fail_store_calls(monkeypatch, emu.store, "get", "model", model, times=6)
        mark = emu.mark()

        first = cli("apply", str(planned.path), "--endpoint", emu.origin, "--yes")

        assert served == [6]  # every attempt of the export's read failed
        assert first.code == 3, first.text
        assert "Run the same `amlctl apply` again to resume" in first.out
        items = planned.receipt_items()
        assert items[f"export:{WORKSPACE}/model/{model}"]["result"] == "failed"
        # Its copy is owed, so nothing was deleted: not it, not anything else.
        assert emu.deletes(mark) == []
        assert {items[c["address"]]["result"] for c in planned.deletes} == {"not-done"}
        assert planned.receipt()["complete"] is False

        second = cli("apply", str(planned.path), "--endpoint", emu.origin, "--yes")

        assert second.code == 0, second.text
        check_every_item_done_once(planned, emu)
        exported = planned.export_root / planned.change(f"export:{WORKSPACE}/model/{model}")["file"]
        assert json.loads(exported.read_bytes())["id"] == model


def test_a_failed_delete_holds_back_what_depends_on_it_until_the_rerun(
    work: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with emulator(tmp_path / "emu") as emu:
        planned = make_plan(emu, DSR)
        image, model = "churn-eu-img:1", SUBJECT_EU_MODEL_IDS[0]  # the image holds the model
        fail_store_calls(monkeypatch, emu.store, "delete", "image", image, times=1)

        first = cli("apply", str(planned.path), "--endpoint", emu.origin, "--yes")

        assert first.code == 3, first.text
        items = planned.receipt_items()
        assert items[f"delete:{WORKSPACE_EU}/image/{image}"]["result"] == "failed"
        # The model was not tried while its image still stood: not "blocked" for good, but
        # left for the re-run (so were the other models and assets, in the same wave).
        assert items[f"delete:{WORKSPACE_EU}/model/{model}"]["result"] == "not-done"
        assert planned.receipt()["complete"] is False
        assert count_events(planned.journal_path, "skipped") == 0

        second = cli("apply", str(planned.path), "--endpoint", emu.origin, "--yes")

        assert second.code == 0, second.text
        check_every_item_done_once(planned, emu)
        assert emu.store.get(ws_key(WORKSPACE_EU), "model", model) is None


# -- faults -----------------------------------------------------------------------------------


def exported_files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and p.name != "index.json"
    }


def test_apply_under_injected_faults_completes_with_identical_exports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast_retries: None
) -> None:
    clean_dir, faulty_dir = tmp_path / "clean", tmp_path / "faulty"
    clean_dir.mkdir()
    faulty_dir.mkdir()
    monkeypatch.chdir(clean_dir)
    with emulator(tmp_path / "emu-clean") as clean:
        reference = make_plan(clean, DSR)
        assert cli("apply", str(reference.path), "--endpoint", clean.origin, "--yes").code == 0
        # Every emulator below listens on this port: the plan records its endpoint.
        port = int(clean.origin.rsplit(":", 1)[1])
    expected = exported_files(clean_dir / reference.export_root)

    monkeypatch.chdir(faulty_dir)
    with emulator(tmp_path / "emu-faulty", port=port) as emu:
        planned = make_plan(emu, DSR)  # a plan as reviewed; the faults hit its apply
    # One request at a time, so the seeded faults fall on the same requests every run.
    faults: dict[str, Any] = {
        "fault_rate": 0.2,
        "fault_seed": FAULT_SEED,
        "fault_kinds": ("500", "503", "reset", "truncate", "stall"),
        "stall_seconds": 0.05,
    }
    args = ("apply", str(planned.path), "--endpoint", f"http://127.0.0.1:{port}", "--yes")
    with emulator(tmp_path / "emu-faulty", port=port, **faults) as emu:
        mark = emu.mark()
        codes = []
        for _attempt in range(4):
            result = cli(*args, "--parallelism", "1")
            codes.append(result.code)
            if result.code == 0:
                break
            assert result.code == 3, result.text  # partly applied: re-run to resume
            assert "Run the same `amlctl apply` again to resume" in result.out
        assert codes[0] == 3 and codes[-1] == 0, codes
        log = emu.log(mark)
        check_every_item_done_once(planned, emu)

    # The seed hits what matters (if the request sequence changes, pick a seed that does):
    # a DELETE the server acted on whose answer was cut short, one refused before acting,
    # and artifact downloads cut short.
    deletes = [e for e in log if e["method"] == "DELETE"]
    downloads = [e for e in log if ".blob.core.windows.net/" in e["path"]]
    assert [e for e in deletes if e.get("fault") == "truncate"], deletes
    assert [e for e in deletes if e.get("fault") in REFUSED], deletes
    assert [e for e in downloads if e.get("fault") == "truncate"], downloads

    # Byte for byte what a run without faults exported, and the same index entries.
    assert exported_files(planned.export_root) == expected
    index = json.loads((planned.export_root / "index.json").read_text())["items"]
    reference_index = json.loads((clean_dir / reference.export_root / "index.json").read_text())
    assert set(index) == set(reference_index["items"])
    for address, entry in index.items():
        other = reference_index["items"][address]
        for key in ("file", "sha256", "size", "content_file", "content_sha256", "content_size"):
            assert entry.get(key) == other.get(key), (address, key)
    # What the journal records as done came from whole answers, never from a spoiled one
    # (a stall only delays a whole answer; every other fault spoils it).
    spoiled = {e["requestId"] for e in log if e.get("fault", "stall") != "stall"}
    for record in planned.journal():
        if record["event"] in ("export-done", "delete-done"):
            assert record["request_id"] not in spoiled, record
    # A DELETE whose answer was cut short was checked, found gone, and not sent again.
    # Deletes only: an item's export may GET the very URL its delete uses.
    items = {i["url"]: i for i in planned.receipt()["items"] if i["action"] == "delete"}
    for entry in deletes:
        if entry.get("fault") == "truncate":
            item = next(i for url, i in items.items() if log_path_of(url) == entry["path"])
            assert item["detail"] == ANSWER_LOST
