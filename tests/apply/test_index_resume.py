"""The export index after SIGKILL and resume: every exported file listed once, with its hash.

`index.json` is the evidence of what was handed over to a data subject, so a crash must not
thin it out. An export-heavy plan (every run, metric, artifact and model of a `scale:N` seed)
is applied in a child process against a loopback emulator slowed by a few milliseconds per
request, killed with SIGKILL at several points of its exports (the later kills hit resumed
runs), and applied again until it exits 0. Then every index entry is checked against the file
on disk and against the journal's export-done record.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apply_helpers import (
    Emulator,
    Planned,
    cli,
    count_events,
    emulator,
    kill,
    plan_manifest,
    start_child,
    temp_leftovers,
    terminal_counts,
    wait_for_event,
)

from amlctl.apply.export import index as exportindex
from amlctl.emulator.seed import SCALE_RESOURCE_GROUP, SCALE_WORKSPACE, SUBSCRIPTION
from amlctl.fsio import sha256_file

SCALE_RUNS = 60  # about 250 exports: enough to kill mid-run, small enough for the suite
LATENCY_MS = 4  # per request while a child runs, so each kill lands among the exports
# Where to kill, as fractions of the plan's exports journaled so far (over all runs): once in
# the first run, then twice more in runs that resumed a killed one.
KILL_AT = (0.05, 0.35, 0.65)
JOURNAL_ONLY = ("seq", "time", "address", "event", "status")  # export-done keys not in the index
MANIFEST = f"""\
version: 1
name: scale-export
workspaces:
  - {{subscriptionId: {SUBSCRIPTION}, resourceGroup: {SCALE_RESOURCE_GROUP},
     workspace: {SCALE_WORKSPACE}, location: eastus}}
export:
  to: exports/scale-export
  select:
    - {{kind: run, all: true}}
    - {{kind: metric, all: true}}
    - {{kind: artifact, all: true}}
    - {{kind: model, all: true}}
"""


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    """A scale-seeded emulator: enough exports for the kills to land mid-run."""
    with emulator(tmp_path / "emu", seed=f"scale:{SCALE_RUNS}") as running:
        yield running


def apply_args(planned: Planned, emu: Emulator, parallelism: int) -> tuple[str, ...]:
    return (
        "apply", str(planned.path), "--endpoint", emu.origin, "--yes",
        "--parallelism", str(parallelism),
    )  # fmt: skip


@pytest.mark.parametrize("parallelism", [1, 10])
def test_index_lists_every_export_once_after_kills_and_resumes(
    work: Path, emu: Emulator, parallelism: int
) -> None:
    (work / "scale-export.yaml").write_text(MANIFEST, encoding="utf-8")
    planned = plan_manifest(emu, work / "scale-export.yaml")
    total = len(planned.exports)
    assert total > 200 and not planned.deletes
    emu.set_latency(LATENCY_MS)
    for n, fraction in enumerate(KILL_AT):
        kill_mid_export(planned, emu, parallelism, int(total * fraction), work / f"killed-{n}.out")
    assert count_events(planned.journal_path, "resume") == len(KILL_AT) - 1
    emu.set_latency(0)

    codes = []
    for _attempt in range(3):  # resumed until it finishes; a partial run exits 3
        codes.append(cli(*apply_args(planned, emu, parallelism)).code)
        if codes[-1] == 0:
            break

    assert codes[-1] == 0, codes
    check_index(planned)


def kill_mid_export(
    planned: Planned, emu: Emulator, parallelism: int, count: int, output: Path
) -> None:
    """Start apply, SIGKILL it once the journal holds `count` export-done records, and check
    the kill came before the exports ended and left no torn index behind."""
    child = start_child(*apply_args(planned, emu, parallelism), output=output)
    try:
        wait_for_event(planned.journal_path, "export-done", count, child)
    finally:
        kill(child)
    assert child.returncode == -9, output.read_text()
    journal = planned.journal()
    done = sum(1 for record in journal if record["event"] == "export-done")
    assert count <= done < len(planned.exports), "the kill was meant to land mid-export"
    assert not any(record["event"] == "finish" for record in journal)
    # Written by temp file and rename, the index is whole (or absent), never half-written.
    exportindex.read_entries(str(planned.export_root))


def check_index(planned: Planned) -> None:
    """Every export of the plan is in index.json exactly once, as its export-done record says,
    with the hash and size of the file on disk, and nothing on disk is left out."""
    root = planned.export_root
    entries = exportindex.read_entries(str(root))
    journal = planned.journal()
    exports = {change["address"]: change for change in planned.exports}
    assert terminal_counts(journal) == Counter(dict.fromkeys(exports, 1))
    done = {r["address"]: r for r in journal if r["event"] == "export-done"}
    missing = sorted(set(exports) - set(entries))
    assert not missing, f"{len(missing)} of {len(exports)} exports missing from index.json"
    assert set(entries) == set(exports)
    listed = Counter(name for entry in entries.values() for name in files_of(entry))
    assert [name for name, times in listed.items() if times > 1] == []
    for address, entry in entries.items():
        assert entry["file"] == exports[address]["file"]
        record = {k: v for k, v in done[address].items() if k not in JOURNAL_ONLY}
        assert entry == record, address
        assert sha256_file(root / entry["file"]) == (entry["sha256"], entry["size"]), address
        if entry.get("content_file") is not None:
            content = sha256_file(root / entry["content_file"])
            assert content == (entry["content_sha256"], entry["content_size"]), address
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert on_disk - {exportindex.INDEX_NAME} == set(listed)
    assert temp_leftovers(root) == []


def files_of(entry: dict[str, Any]) -> list[str]:
    content = entry.get("content_file")
    return [str(entry["file"])] + ([str(content)] if content is not None else [])
