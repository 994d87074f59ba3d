"""The command line: version, help, usage errors (exit 1, not 2), and running from anywhere."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from amlctl import __version__
from amlctl.cli import main

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((REPO / "plans" / "examples").glob("*.yaml"))


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "--version") == (0, f"amlctl {__version__}\n", "")


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--help")
    assert code == 0
    for command in ("validate", "catalog"):
        assert command in out


def test_validate_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "validate", "--help")
    assert code == 0
    assert "--catalog" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["validate"],  # missing FILE
        ["no-such-command"],
        ["validate", "--no-such-option", "x.yaml"],
        ["catalog", "list", "--format"],  # option without its value
        ["catalog", "list", "--format", "xml"],
    ],
    ids=["missing-argument", "unknown-command", "unknown-option", "option-value", "bad-format"],
)
def test_usage_errors_exit_1_not_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, *argv)
    assert code == 1
    assert err.strip(), "a usage error says what is wrong"
    assert "Traceback" not in out + err


def test_validate_of_a_missing_file_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(capsys, "validate", "nowhere.yaml")
    assert code == 1
    assert out == "nowhere.yaml:1:1: error: $: cannot read file: No such file or directory\n"
    assert "1 problem found" in err


def test_validate_examples_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "validate", *map(str, EXAMPLES))
    assert code == 0
    assert out.splitlines() == [f"{path}: valid" for path in EXAMPLES]


def test_validate_json_of_valid_files(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "validate", "--format", "json", *map(str, EXAMPLES))
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "valid": True,
        "files": [{"file": str(path), "valid": True} for path in EXAMPLES],
        "problems": [],
    }


def test_validate_json_lists_every_problem_as_text_mode_does(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO / "tests" / "manifests" / "invalid")
    files = [str(EXAMPLES[0]), "bad-date.yaml", "unknown-key-condition.yaml", "nowhere.yaml"]
    text_code, text_out, text_err = _run(capsys, "validate", *files)
    code, out, err = _run(capsys, "validate", "--format", "json", *files)
    assert (code, err) == (text_code, text_err)
    assert code == 1 and err.endswith(" problems found\n")
    doc = json.loads(out)
    assert doc["valid"] is False
    assert doc["files"] == [
        {"file": str(EXAMPLES[0]), "valid": True},
        {"file": "bad-date.yaml", "valid": False},
        {"file": "unknown-key-condition.yaml", "valid": False},
        {"file": "nowhere.yaml", "valid": False},
    ]
    assert [set(problem) for problem in doc["problems"]] == [
        {"file", "line", "col", "path", "message"}
    ] * len(doc["problems"])
    shown = [
        f"{p['file']}:{p['line']}:{p['col']}: error: {p['path']}: {p['message']}"
        for p in doc["problems"]
    ]
    assert shown == text_out.splitlines()
    assert doc["problems"][-1] == {
        "file": "nowhere.yaml",
        "line": 1,
        "col": 1,
        "path": "$",
        "message": "cannot read file: No such file or directory",
    }


def test_validate_json_names_a_bad_catalog_first(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        capsys, "validate", "--format", "json", "--catalog", "no-such-catalog", str(EXAMPLES[0])
    )
    doc = json.loads(out)
    assert code == 1 and doc["valid"] is False
    assert doc["files"][0] == {"file": "no-such-catalog", "valid": False}
    assert [p["file"] for p in doc["problems"]] == ["no-such-catalog"]
    assert doc["problems"][0]["message"].startswith("no such catalog; built-in: ")


def test_validate_refuses_an_unknown_format(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "validate", "--format", "xml", str(EXAMPLES[0]))
    assert (code, out) == (1, "")
    assert "--format must be text or json, not 'xml'" in err


# --- from a different working directory, in fresh interpreters --------------------------------


def _subprocess(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_python_dash_m_runs_from_anywhere(tmp_path: Path) -> None:
    version = _subprocess([sys.executable, "-m", "amlctl", "--version"], tmp_path)
    assert (version.returncode, version.stdout) == (0, f"amlctl {__version__}\n")

    validate = _subprocess(
        [sys.executable, "-m", "amlctl", "validate", *map(str, EXAMPLES)], tmp_path
    )
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert validate.stdout.splitlines() == [f"{path}: valid" for path in EXAMPLES]

    for name in ("azureml-2019-11-01", "azureml-2018-03-01-preview"):
        listed = _subprocess(
            [
                sys.executable,
                "-m",
                "amlctl",
                "catalog",
                "list",
                "--catalog",
                name,
                "--format",
                "json",
            ],
            tmp_path,
        )
        assert listed.returncode == 0, listed.stderr
        assert len(json.loads(listed.stdout)) == 32
    assert "Traceback" not in validate.stderr + version.stderr

    as_json = _subprocess(
        [sys.executable, "-m", "amlctl", "validate", "--format", "json", "missing.yaml"], tmp_path
    )
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout)["files"] == [{"file": "missing.yaml", "valid": False}]
    assert as_json.stderr == "1 problem found\n"


def test_console_script_runs_from_anywhere(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "amlctl"
    found = str(script) if script.exists() else shutil.which("amlctl")
    if found is None:
        pytest.skip("the amlctl console script is not installed next to this interpreter")
    copied = [shutil.copy(path, tmp_path / path.name) for path in EXAMPLES]
    result = _subprocess([found, "validate", *(Path(path).name for path in copied)], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [f"{path.name}: valid" for path in EXAMPLES]
    failing = _subprocess([found, "validate", "missing.yaml"], tmp_path)
    assert failing.returncode == 1
    assert "Traceback" not in failing.stdout + failing.stderr
