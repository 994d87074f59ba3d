"""A canary token and a canary subject through every command and error path: neither is found
in anything amlctl wrote or printed (the subject's own exported data aside).

The canary token is the bearer token amlctl sends to the emulator (and the `eyJ` prefix of any
JWT, and the word Bearer); the canary subject is the demo's data subject, named in the
manifest by object id and user name. Every command runs in a child process with its own TMPDIR,
so a crash log would be caught too.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from amlctl.emulator import EmulatorApp, EmulatorConfig, open_store
from amlctl.emulator.people import SUBJECT
from amlctl.emulator.server import running_server
from tests.conftest import TEST_PSEUDONYM_KEY
from tests.torture.harness import amlctl_argv, child_env

REPO = Path(__file__).resolve().parents[2]
# The pseudonym key is a secret too: it must reach no plan, record or output.
TOKENS = ("amlctl-emulator", "eyJ", "bearer ", TEST_PSEUDONYM_KEY.read_text().strip())
SUBJECT_WORDS = (SUBJECT.object_id.lower(), SUBJECT.name.lower(), "jane")
# Her own data, handed to her: exported items and the package for her may name her.
HER_DATA = ("exports", "DSR.zip")


class Session:
    """Runs amlctl commands in `work`, keeping everything they printed."""

    def __init__(self, work: Path) -> None:
        self.work, self.printed = work, []
        self.tmp = work / "tmp"
        self.tmp.mkdir()

    def __call__(self, *args: str) -> int:
        env = {**child_env(), "TMPDIR": str(self.tmp)}
        done = subprocess.run(amlctl_argv(*args), cwd=self.work, capture_output=True, text=True,
                              timeout=120, env=env, stdin=subprocess.DEVNULL, check=False)
        self.printed.append((" ".join(args), done.stdout + done.stderr))
        assert "Traceback" not in done.stderr, done.stderr
        return done.returncode


@pytest.fixture
def session(tmp_path: Path) -> Iterator[tuple[Session, str]]:
    work = tmp_path / "work"
    (work / "plans").mkdir(parents=True)
    shutil.copyfile(REPO / "plans" / "examples" / "dsr-export-erase.yaml", work / "dsr.yaml")
    store = open_store(tmp_path / "emu.db", "demo")
    app = EmulatorApp(store, EmulatorConfig())
    try:
        with running_server(app) as server:
            yield Session(work), server.origin
    finally:
        app.close()
        store.close()


def test_no_canary_in_anything_written_or_printed(session: tuple[Session, str]) -> None:
    amlctl, origin = session
    work = amlctl.work
    broken = work / "broken.yaml"
    broken.write_text((work / "dsr.yaml").read_text().replace("kind: model", "kind: modle", 1))
    plan = "plans/dsr.plan.json"
    steps = [
        (("validate", "dsr.yaml"), {0}),
        (("validate", "broken.yaml", "--format", "json"), {1}),
        (("plan", "broken.yaml", "--endpoint", origin), {1}),
        (("plan", "dsr.yaml", "--endpoint", origin, "--format", "markdown"), {0}),
        (("show", plan, "--format", "json"), {0}),
        (("show", plan), {0}),
        (("apply", plan, "--endpoint", "http://127.0.0.1:9", "--yes"), {1}),  # wrong target
        (("apply", plan, "--endpoint", origin, "--yes", "--format", "json"), {0}),
        (("apply", plan, "--endpoint", origin, "--yes"), {0}),  # already applied
        (("verify", plan, "--endpoint", origin, "--manual-done", "all"), {0}),
        (("receipt", "DSR-2026-0042", "--format", "json"), {0}),
        (("receipt", "DSR-2026-0042", "-o", "record.md"), {0}),
        (("package", plan, "-o", "DSR.zip"), {0}),
        (("plan", "dsr.yaml", "--endpoint", "http://127.0.0.1:9", "-o", "plans/x.json"), {1}),
    ]
    for args, codes in steps:
        assert amlctl(*args) in codes, amlctl.printed[-1]
    shutil.copyfile(work / plan, work / "plans" / "copy.plan.json")
    assert amlctl("apply", "plans/copy.plan.json", "--endpoint", origin, "--yes") == 0

    found = _canaries(work, amlctl.printed)
    assert found == [], found[:10]
    # The search does see her: her own exported items name her (and only they may).
    exported = [p.read_text() for p in (work / "exports").rglob("*.json")]
    assert any(SUBJECT.object_id in text for text in exported)
    assert json.loads((work / plan).read_text())["request"]["subject"]["pseudonym"]


def _canaries(work: Path, printed: list[tuple[str, str]]) -> list[str]:
    found = []
    for where, text in printed:
        found += [f"output of {where}: {w!r}" for w in _words(text, her_data=False)]
    for path in sorted(work.rglob("*")):
        if not path.is_file() or path.name in ("dsr.yaml", "broken.yaml"):  # the inputs
            continue
        relative = path.relative_to(work).as_posix()
        text = path.read_bytes().decode("utf-8", "replace")
        her = relative.startswith(HER_DATA)
        found += [f"{relative}: {w!r}" for w in _words(text, her_data=her)]
    return found


def _words(text: str, *, her_data: bool) -> list[str]:
    lowered = text.lower()
    words = TOKENS if her_data else (*TOKENS, *SUBJECT_WORDS)
    return [w for w in words if w.lower() in lowered]
