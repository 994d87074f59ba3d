"""`amlctl plan DIR|GLOB...`: several manifests, one summary, exit codes that aggregate (any
error 1, else any change 2 with --detailed-exitcode, else 0), and a bad one does not stop the rest.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from amlctl.batch import expand
from amlctl.cli import main
from amlctl.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "plans" / "examples"
EMPTY = ROOT / "tests" / "cases" / "empty-plan" / "manifest.yaml"


@pytest.fixture(autouse=True)
def _in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795000000")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("AMLCTL_ENDPOINT", raising=False)
    monkeypatch.chdir(tmp_path)


def _copy(names: list[str], folder: Path) -> Path:
    folder.mkdir()
    for name in names:
        shutil.copy(EXAMPLES / name, folder / name)
    return folder


def test_a_folder_plans_every_manifest_with_one_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _copy(["dsr-export-erase.yaml", "workspace-export.yaml"], tmp_path / "m")
    (folder / "notes.txt").write_text("not a manifest")
    code = main(["plan", str(folder), "--emulator", "--detailed-exitcode"])
    out = capsys.readouterr().out
    assert code == 2
    assert "Plans: 2 manifests, 2 with changes, 0 without, 0 failed." in out
    assert (tmp_path / "plans" / "dsr-export-erase.plan.json").is_file()
    assert (tmp_path / "plans" / "workspace-export.plan.json").is_file()
    assert "-> plans/workspace-export.plan.json" in out


def test_one_error_makes_it_1_and_the_others_are_still_planned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _copy(["workspace-export.yaml"], tmp_path / "m")
    (folder / "broken.yaml").write_text("version: 1\nname: broken\nworkspaces: []\n")
    code = main(["plan", str(folder / "*.yaml"), "--emulator", "--detailed-exitcode"])
    out, err = capsys.readouterr()
    assert code == 1
    assert (tmp_path / "plans" / "workspace-export.plan.json").is_file()
    assert not (tmp_path / "plans" / "broken.plan.json").exists()
    assert "broken.yaml:" in err and "error:" in err
    assert "1 with changes, 0 without, 1 failed" in out


def test_no_changes_anywhere_is_0_and_json_lists_every_outcome(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "m").mkdir()
    for name in ("a", "b"):
        shutil.copy(EMPTY, tmp_path / "m" / f"{name}.yaml")
    code = main(["plan", "m/a.yaml", "m/b.yaml", "--emulator", "--detailed-exitcode",
                 "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [p["manifest"] for p in doc["plans"]] == ["m/a.yaml", "m/b.yaml"]
    assert all(p["changes"] == 0 and p["error"] is None for p in doc["plans"])
    assert doc["plans"][0]["digest"].startswith("sha256:")


def test_out_with_several_manifests_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _copy(["dsr-export-erase.yaml", "workspace-export.yaml"], tmp_path / "m")
    assert main(["plan", str(folder), "-o", "x.plan.json", "--emulator"]) == 1
    assert "-o names the plan of one manifest" in capsys.readouterr().err
    assert not (tmp_path / "plans").exists()


def test_two_manifests_writing_one_plan_file_are_refused_before_planning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for sub in ("a", "b"):
        _copy(["workspace-export.yaml"], tmp_path / sub)
    assert main(["plan", "a", "b", "--emulator"]) == 1
    assert "would both write plans/workspace-export.plan.json" in capsys.readouterr().err
    assert not (tmp_path / "plans").exists()


def test_expand_names_an_argument_that_matches_nothing(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="empty: no manifest found"):
        expand([tmp_path / "empty"])
    with pytest.raises(UsageError, match=r"nothing-\*\.yaml: no manifest found"):
        expand([tmp_path / "nothing-*.yaml"])
    both = expand([EXAMPLES / "workspace-export.yaml", EXAMPLES])
    assert both[0] == EXAMPLES / "workspace-export.yaml"
    assert both.count(EXAMPLES / "workspace-export.yaml") == 1
