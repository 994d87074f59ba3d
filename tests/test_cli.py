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
