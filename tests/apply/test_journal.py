"""The apply journal (replay, torn writes, fsync before return, threads) and the plan lock."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from amlctl.apply.journal import (
    DELETE_ACCEPTED,
    DELETE_DONE,
    DELETE_SENT,
    EXPORT_DONE,
    FAILED,
    FINISH,
    SKIPPED,
    START,
    Journal,
    JournalError,
    PlanLock,
    PlanLocked,
    journal_path,
    lock_path,
)
from amlctl.errors import AmlctlError, ApplyRefused

FIXED = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def fixed() -> datetime:
    return FIXED


@pytest.fixture
def plan(tmp_path: Path) -> Path:
    path = tmp_path / "plans" / "erase.plan.json"
    path.parent.mkdir()
    path.write_text("{}")
    return path


def started(plan: Path) -> Journal:
    journal = Journal.open(plan, now=fixed)
    journal.append(START, plan_digest="sha256:abc", target="emulator", started="t0")
    return journal


DIGEST = "sha256:" + "ab" * 32  # the digest the lock tests lock


def lines(plan: Path) -> list[dict[str, object]]:
    raw = journal_path(plan).read_bytes()
    assert raw.endswith(b"\n")
    return [json.loads(line) for line in raw.splitlines()]


def test_paths(plan: Path) -> None:
    assert journal_path(plan).name == "erase.plan.json.journal.jsonl"
    assert journal_path(journal_path(plan)) == journal_path(plan)
    assert lock_path(plan, DIGEST).name == "apply-abababababab.lock"


def test_records_have_the_documented_shape_and_file_is_private(plan: Path) -> None:
    with started(plan) as journal:
        record = journal.append(EXPORT_DONE, "export:ws/run/r1", file="f.json", sha256="ab")
    assert record == {
        "seq": 2,
        "time": "2024-05-01T12:00:00.123Z",
        "address": "export:ws/run/r1",
        "event": EXPORT_DONE,
        "file": "f.json",
        "sha256": "ab",
    }
    assert lines(plan)[0] == {
        "seq": 1,
        "time": "2024-05-01T12:00:00.123Z",
        "address": None,
        "event": START,
        "plan_digest": "sha256:abc",
        "target": "emulator",
        "started": "t0",
    }
    assert stat.S_IMODE(journal_path(plan).stat().st_mode) == 0o600


def test_lines_are_compact_ascii_json_in_record_order(plan: Path) -> None:
    # The bytes, not just the values: journals written by earlier versions are read back, and
    # the format is compact, ASCII-only JSON with the keys in the order they were given.
    with started(plan) as journal:
        journal.append(EXPORT_DONE, "export:ws/run/r\u00e9", file="f.json", size=3)
    second = journal_path(plan).read_bytes().splitlines()[1]
    assert second == (
        b'{"seq":2,"time":"2024-05-01T12:00:00.123Z","address":"export:ws/run/r\\u00e9",'
        b'"event":"export-done","file":"f.json","size":3}'
    )


def test_replay_restores_header_states_and_seq(plan: Path) -> None:
    with started(plan) as journal:
        journal.append(EXPORT_DONE, "export:a", file="a.json")
        journal.append(DELETE_SENT, "delete:b")
        journal.append(FAILED, "delete:c", status=500, code="Internal", message="boom")
    with Journal.open(plan, now=fixed) as journal:
        assert journal.header is not None and journal.header["plan_digest"] == "sha256:abc"
        state = journal.state("export:a")
        assert state is not None and state.event == EXPORT_DONE and state.terminal
        assert state.fields == {"file": "a.json"}
        assert journal.state("nobody") is None
        failed = journal.state("delete:c")
        assert failed is not None and failed.failures == 1 and not failed.terminal
        assert journal.append(FINISH, exported=1)["seq"] == 5


def test_empty_journal_has_no_header(plan: Path) -> None:
    with Journal.open(plan) as journal:
        assert journal.header is None
        assert journal.state("a") is None and journal.state("b") is None


@pytest.mark.parametrize(
    "tail",
    [
        b'{"seq": 3, "time": "2024',
        b'{"seq":3,"time":"t","address":null,"event":"finish"}',
        b"\x00\x00\x00\x00\n",
        b'{"seq": 3, "ti\n',
        b"\n",
    ],
    ids=[
        "cut-mid-json",
        "whole-json-no-newline",
        "nul-fill-from-power-loss",
        "cut-json-with-newline",
        "empty-line",
    ],
)
def test_torn_last_line_is_ignored_and_truncated(plan: Path, tail: bytes) -> None:
    with started(plan) as journal:
        journal.append(DELETE_SENT, "delete:a")
    good = journal_path(plan).read_bytes()
    with journal_path(plan).open("ab") as stream:
        stream.write(tail)
    with Journal.open(plan, now=fixed) as journal:
        assert journal_path(plan).read_bytes() == good  # truncated before any append
        sent = journal.state("delete:a")
        assert sent is not None and sent.event == DELETE_SENT and not sent.terminal
        assert sent.in_flight_event == DELETE_SENT
        journal.append(DELETE_DONE, "delete:a", outcome="deleted", status=200, request_id="r")
    assert [r["seq"] for r in lines(plan)] == [1, 2, 3]
    with Journal.open(plan) as journal:
        done = journal.state("delete:a")
        assert done is not None and done.terminal and done.in_flight_event is None


def test_bad_line_before_the_last_is_an_error_naming_it(plan: Path) -> None:
    with started(plan) as journal:
        journal.append(DELETE_SENT, "delete:a")
        journal.append(DELETE_SENT, "delete:b")
    raw = journal_path(plan).read_bytes().split(b"\n")
    raw[1] = b'{"seq": 2, "broken'
    journal_path(plan).write_bytes(b"\n".join(raw))
    with pytest.raises(JournalError, match=r"journal\.jsonl:2: not a journal record"):
        Journal.open(plan)


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ([{"seq": 1, "event": START}, {"seq": 3, "event": FINISH}], r":2: seq 3, expected 2"),
        ([{"seq": 1, "event": FINISH}], r":1: first record is 'finish'"),
        ([{"seq": 1, "event": START}, [1, 2], {"seq": 3, "event": FINISH}], r":2: not a"),
    ],
)
def test_edited_journals_are_refused(plan: Path, records: list[object], message: str) -> None:
    text = ""
    for record in records:
        if isinstance(record, dict):
            record = {"time": "t", "address": None, **record}
        text += json.dumps(record) + "\n"
    journal_path(plan).write_text(text)
    with pytest.raises(JournalError, match=message) as caught:
        Journal.open(plan)
    assert isinstance(caught.value, AmlctlError)


def test_replay_keeps_each_address_and_its_delete_in_flight(plan: Path) -> None:
    with started(plan) as journal:
        journal.append(EXPORT_DONE, "export:done", file="x")
        journal.append(SKIPPED, "delete:changed", reason="changed-since-plan", status=412)
        journal.append(DELETE_SENT, "delete:sent")
        journal.append(DELETE_SENT, "delete:sent-then-failed")
        journal.append(FAILED, "delete:sent-then-failed", status=503, code="", message="")
        journal.append(DELETE_SENT, "delete:ws")
        journal.append(DELETE_ACCEPTED, "delete:ws", status=202, poll_url="https://p/op/1")
        journal.append(FAILED, "delete:ws", status=None, code="timeout", message="")
        journal.append(DELETE_SENT, "delete:finished")
        journal.append(DELETE_DONE, "delete:finished", outcome="absent", status=404)
        journal.append(FAILED, "export:failed", status=500, code="", message="")
    # (terminal, in-flight delete event) of each address after replay.
    expected = {
        "export:done": (True, None),
        "delete:changed": (True, None),
        "delete:sent": (False, DELETE_SENT),
        # A failure after the DELETE went out leaves its outcome unknown: GET before re-sending.
        "delete:sent-then-failed": (False, DELETE_SENT),
        "delete:ws": (False, DELETE_ACCEPTED),
        "delete:finished": (True, None),
        "export:failed": (False, None),
    }
    with Journal.open(plan) as journal:
        states = {address: journal.state(address) for address in expected}
        assert {
            address: (state.terminal, state.in_flight_event)
            for address, state in states.items()
            if state is not None
        } == expected
        assert journal.state("export:never") is None
        ws = journal.state("delete:ws")
        assert ws is not None and ws.event == FAILED
        assert ws.in_flight_event == DELETE_ACCEPTED
        assert ws.in_flight["poll_url"] == "https://p/op/1"


def test_append_is_on_disk_when_it_returns(plan: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = started(plan)
    synced: list[bytes] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        real_fsync(fd)
        synced.append(journal_path(plan).read_bytes())

    monkeypatch.setattr(os, "fsync", fsync)
    journal.append(DELETE_SENT, "delete:a")
    # The fsync ran after the line was written and before append returned.
    assert synced and synced[-1].endswith(b'"delete:a","event":"delete-sent"}\n')
    with open(journal_path(plan), "rb") as other:  # another handle sees it, nothing buffered
        assert other.read().splitlines()[-1].endswith(b'"event":"delete-sent"}')
    journal.close()


def test_group_commit_writes_at_once_and_syncs_in_batches_files_first(
    plan: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = started(plan)
    events: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        real_fsync(fd)
        events.append("fsync")

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr("amlctl.apply.journal.GROUP_SECONDS", 3600.0)  # batches by count here
    journal.before_sync = lambda: events.append("files")
    for n in range(3):
        journal.append(EXPORT_DONE, f"export:{n}", durable=False, file=f"{n}.json")
    # Written at once (a killed process loses none of them), synced later.
    assert [line["address"] for line in lines(plan)[1:]] == ["export:0", "export:1", "export:2"]
    assert events == []
    journal.append(DELETE_SENT, "delete:a")  # durable: every line before it goes with it
    assert events == ["files", "fsync"]
    journal.sync()  # nothing new since: no second flush
    assert events == ["files", "fsync"]
    monkeypatch.setattr("amlctl.apply.journal.GROUP_LINES", 4)
    for n in range(4):
        journal.append(EXPORT_DONE, f"export:b{n}", durable=False, file=f"b{n}.json")
    assert events == ["files", "fsync"] * 2  # the batch filled up
    journal.append(EXPORT_DONE, "export:c", durable=False, file="c.json")
    journal.close()  # closing syncs what is left
    assert events == ["files", "fsync"] * 3
    with Journal.open(plan) as again:
        assert again.state("export:c") is not None


def test_a_sync_under_way_is_not_started_again_by_the_appends_behind_it(
    plan: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Workers append export lines while another's group sync is still on its way: before, each
    # of those appends saw the group as due and began a sync (and synced every folder) of its own.
    journal = started(plan)
    monkeypatch.setattr("amlctl.apply.journal.GROUP_SECONDS", 3600.0)
    monkeypatch.setattr("amlctl.apply.journal.GROUP_LINES", 2)
    entered, release, syncs = threading.Event(), threading.Event(), []

    def slow_files() -> None:
        syncs.append(threading.current_thread().name)
        entered.set()
        release.wait(10)

    journal.before_sync = slow_files
    first = threading.Thread(
        target=lambda: [journal.append(EXPORT_DONE, f"export:{n}", durable=False, file=f"{n}")
                        for n in range(2)],
        name="first",
    )
    first.start()
    assert entered.wait(10)
    journal.append(EXPORT_DONE, "export:2", durable=False, file="2")  # one behind the sync
    assert syncs == ["first"]
    release.set()
    first.join(10)
    journal.append(EXPORT_DONE, "export:3", durable=False, file="3")  # a group of two again
    assert syncs == ["first", "MainThread"]
    journal.append(DELETE_SENT, "delete:a")  # durable: synced, whatever is under way
    assert len(syncs) == 3
    journal.close()
    with Journal.open(plan) as again:
        assert all(again.state(f"export:{n}") is not None for n in range(4))


def test_misuse_is_refused(plan: Path) -> None:
    journal = Journal.open(plan)
    with pytest.raises(ValueError, match="first record"):
        journal.append(EXPORT_DONE, "export:a")
    journal.append(START, plan_digest="d", target="t", started="s")
    with pytest.raises(ValueError, match="only the first"):
        journal.append(START)
    with pytest.raises(ValueError, match="unknown journal event"):
        journal.append("deleted", "delete:a")
    with pytest.raises(ValueError, match="may not be named seq"):
        journal.append(FAILED, "delete:a", seq=9)
    journal.close()
    journal.close()
    with pytest.raises(JournalError, match="closed"):
        journal.append(FINISH)


def test_concurrent_appends_keep_lines_whole(plan: Path) -> None:
    journal = started(plan)
    per_thread, threads = 150, 8
    payload = "x" * 3000  # longer than a pipe buffer's atomic size: interleaving would show

    def work(n: int) -> None:
        for i in range(per_thread):
            journal.append(FAILED, f"export:t{n}/{i}", status=500, code="c", message=payload)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    journal.close()
    records = lines(plan)
    assert [r["seq"] for r in records] == list(range(1, threads * per_thread + 2))
    assert len({r["address"] for r in records[1:]}) == threads * per_thread
    with Journal.open(plan) as again:
        for i in range(3):
            state = again.state(f"export:t0/{i}")
            assert state is not None and state.event == FAILED and not state.terminal


# ---- the plan lock -----------------------------------------------------------------------------

_HOLD = """
import sys, time
from pathlib import Path
from amlctl.apply.journal import PlanLock
lock = PlanLock(Path(sys.argv[1]), "sha256:" + "ab" * 32)
lock.acquire()
print("locked", flush=True)
time.sleep(60)
"""


def hold_in_child(plan: Path) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(plan)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline() == "locked\n"
    return child


def test_second_holder_fails_at_once_naming_the_holder_and_kill_9_frees_it(plan: Path) -> None:
    child = hold_in_child(plan)
    try:
        begun = time.monotonic()
        with pytest.raises(PlanLocked) as caught:
            PlanLock(plan, DIGEST).acquire()
        assert time.monotonic() - begun < 1.0
        message = str(caught.value)
        assert message.startswith(
            f"plan {plan} is being applied by pid {child.pid} on {socket.gethostname()} since 20"
        )
        assert isinstance(caught.value, ApplyRefused)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        assert child.stdout is not None
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    with PlanLock(plan, DIGEST) as lock:  # the kernel dropped the dead holder's flock
        assert json.loads(lock.path.read_text())["pid"] == os.getpid()


def test_lock_in_the_same_process_and_release(plan: Path) -> None:
    first = PlanLock(plan, DIGEST, now=fixed)
    with first:
        holder = json.loads(lock_path(plan, DIGEST).read_text())
        assert holder["pid"] == os.getpid() and holder["since"] == "2024-05-01T12:00:00.123Z"
        assert set(holder) == {"pid", "host", "user", "since"}
        assert stat.S_IMODE(lock_path(plan, DIGEST).stat().st_mode) == 0o600
        with pytest.raises(PlanLocked, match=f"pid {os.getpid()}"), PlanLock(plan, DIGEST):
            pass
    assert lock_path(plan, DIGEST).read_text() == ""  # left in place, emptied
    with PlanLock(plan, DIGEST):
        pass
    first.release()  # releasing twice is harmless


def test_holder_that_has_not_written_yet_is_still_reported(
    plan: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fd = os.open(lock_path(plan, DIGEST), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    monkeypatch.setattr(time, "sleep", lambda _s: None)
    try:
        with pytest.raises(PlanLocked, match="names no holder"):
            PlanLock(plan, DIGEST).acquire()
    finally:
        os.close(fd)
