"""The saved plans of the examples in plans/examples/ against the emulator's demo data.

Each `plans/examples/<stem>.yaml` has its plan file `<stem>.plan.json` and the pull-request
comment `<stem>.plan.md` committed next to it, made as the README does from the repository
root: `amlctl plan plans/examples/<stem>.yaml -o plans/examples/<stem>.plan.json --emulator`
with SOURCE_DATE_EPOCH=1795000000 and AMLCTL_PSEUDONYM_KEY_FILE=tests/data/pseudonym-test.key
(the test key every test uses, tests/conftest.py) on a fresh demo database. This test plans
again and compares bytes, so a change in behaviour shows up as a reviewable diff;
AMLCTL_UPDATE_GOLDEN=1 rewrites the committed files.

The test plans in a temp folder holding a copy of the manifest at the same relative path, so
the plan records the same manifest path and digest, but the export folder (whose index.json
decides new versus unchanged) resolves there and not in a working copy where someone may have
applied the example.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from amlctl.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "plans" / "examples"
STEMS = sorted(p.stem for p in EXAMPLES.glob("*.yaml"))
EPOCH = "1795000000"


@pytest.mark.parametrize("stem", STEMS)
def test_example_plan(
    stem: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("AMLCTL_ENDPOINT", raising=False)
    manifest = Path("plans", "examples", f"{stem}.yaml")
    (tmp_path / manifest.parent).mkdir(parents=True)
    shutil.copyfile(ROOT / manifest, tmp_path / manifest)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out" / f"{stem}.plan.json"
    code = main(["plan", str(manifest), "-o", str(out), "--emulator", "--format", "markdown"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    actual = {f"{stem}.plan.json": out.read_bytes(), f"{stem}.plan.md": captured.out.encode()}
    for name, data in actual.items():
        committed = EXAMPLES / name
        if os.environ.get("AMLCTL_UPDATE_GOLDEN") == "1":
            committed.write_bytes(data)
            continue
        assert committed.exists(), f"no {committed}; run with AMLCTL_UPDATE_GOLDEN=1 and review it"
        assert data == committed.read_bytes(), (
            f"{committed} is not what `amlctl plan` gives now; if the change is intended, run "
            "with AMLCTL_UPDATE_GOLDEN=1 and review the diff"
        )
