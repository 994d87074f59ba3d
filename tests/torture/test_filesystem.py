"""File-system attacks on the export folder, end to end: a symbolic link planted inside it, a
hard link at a final path, a disk that fills up (a file-size limit on the apply process). Apply
writes nothing outside the export folder, changes no file it does not own, fails cleanly, and a
re-run after the attack ends exports the same bytes as a run that was never attacked."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
from pathlib import Path

from tests.torture.harness import (
    PLAN,
    Golden,
    Setup,
    Trial,
    amlctl_argv,
    apply_args,
    check,
    child_env,
    emulator,
    exported_files,
    plan,
    run,
)


def _planned(folder: Path, name: str) -> Path:
    work = folder / name
    work.mkdir()
    return work


def _clean(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stderr and "amlctl-crash-" not in done.stderr, done.stderr


def test_a_link_planted_in_the_export_folder_is_refused(
    soak: tuple[Path, Setup, Golden], tmp_path: Path
) -> None:
    folder, setup, gold = soak
    work = _planned(folder, "symlink")
    outside = tmp_path / "outside"
    outside.mkdir()
    first = sorted(gold.files)[0].split("/")[0]  # a folder every apply writes into
    with emulator(work, setup) as (origin, _app):
        plan(work, origin)
        (work / "exports").mkdir(mode=0o700)
        (work / "exports" / first).symlink_to(outside)
        attacked = run(work, *apply_args(origin, setup))
        _clean(attacked)
        assert attacked.returncode in (1, 3)
        assert list(outside.iterdir()) == []  # nothing written through the link
        (work / "exports" / first).unlink()
        trial = Trial("symlink")
        done = run(work, *apply_args(origin, setup))
        assert done.returncode == 0, done.stderr
    check(work, gold, trial)
    assert trial.problems == []


def test_a_hard_link_at_a_final_path_leaves_the_other_file_alone(
    soak: tuple[Path, Setup, Golden], tmp_path: Path
) -> None:
    folder, setup, gold = soak
    work = _planned(folder, "hardlink")
    victim = tmp_path / "victim.txt"
    victim.write_text("not amlctl's\n")
    target = sorted(gold.files)[0]
    with emulator(work, setup) as (origin, _app):
        plan(work, origin)
        final = work / "exports" / target
        final.parent.mkdir(parents=True, mode=0o700)
        os.link(victim, final)
        done = run(work, *apply_args(origin, setup))
        _clean(done)
        assert done.returncode == 0, done.stderr
    assert victim.read_text() == "not amlctl's\n"  # replaced by a new file, not written through
    assert exported_files(work / "exports") == gold.files


def _limit_file_size() -> None:
    # A full disk, as the process sees it: writes past the limit fail with EFBIG.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


def test_a_full_disk_fails_cleanly_and_a_rerun_completes(soak: tuple[Path, Setup, Golden]) -> None:
    folder, setup, gold = soak
    work = _planned(folder, "full-disk")
    with emulator(work, setup) as (origin, _app):
        plan(work, origin)
        full = subprocess.run(
            amlctl_argv(*apply_args(origin, setup)), cwd=work, capture_output=True, text=True,
            timeout=120, env=child_env(), stdin=subprocess.DEVNULL, check=False,
            preexec_fn=_limit_file_size,
        )
        _clean(full)
        assert full.returncode in (1, 3), full.stderr
        trial = Trial("full-disk")
        done = run(work, *apply_args(origin, setup))
        assert done.returncode == 0, done.stderr
    check(work, gold, trial)
    assert trial.problems == []
    journal = next((work / "plans").glob("*.journal.jsonl"))
    for line in journal.read_text().splitlines():
        json.loads(line)  # every line whole: a torn one was dropped, not kept
    assert (work / PLAN).exists()
