"""The command line as people expect it: -h, choices shown and completed, --no-color beside
NO_COLOR, shell completion, help without typer's type labels, `emulator info` as a table."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from amlctl.cli import main

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = [[], ["validate"], ["plan"], ["show"], ["apply"], ["verify"], ["receipt"],
            ["package"], ["schema"], ["init"], ["catalog", "list"], ["emulator", "serve"],
            ["emulator", "info"], ["github", "comment"], ["github", "approved"],
            ["github", "receipt"]]


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) or "amlctl" for c in COMMANDS])
def test_dash_h_is_help_without_type_noise(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*command, "-h"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage: amlctl") and "-h, --help" in out
    for noise in ("<bool>", "<str>", "<path>", "<int", "list[", "{", "[["):
        assert noise not in out.split("\n", 1)[0] if noise == "{" else noise not in out, noise
    assert "...." not in out  # a list argument says ... once


def test_format_shows_its_choices(capsys: pytest.CaptureFixture[str]) -> None:
    main(["plan", "-h"])
    assert "--format text|markdown|json" in capsys.readouterr().out
    main(["emulator", "info", "-h"])
    assert "--format table|json" in capsys.readouterr().out


def _complete(words: str) -> list[str]:
    env = {**os.environ, "_AMLCTL_COMPLETE": "complete_bash", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split(" ")) - 1)}
    done = subprocess.run([sys.executable, "-m", "amlctl"], env=env, capture_output=True,
                          text=True, check=False, cwd=ROOT)
    return done.stdout.split()


def test_the_shell_completes_format_values_and_commands() -> None:
    assert _complete("amlctl plan --format m") == ["markdown"]
    assert _complete("amlctl apply --format ") == ["text", "json"]
    assert "github" in _complete("amlctl g")


def test_completion_can_be_installed(capsys: pytest.CaptureFixture[str]) -> None:
    main(["-h"])
    out = capsys.readouterr().out
    assert "--install-completion" in out and "--show-completion" in out and "--no-color" in out


def test_no_color_turns_colour_off_for_that_command_only(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    plan = str(ROOT / "plans/examples/workspace-export.plan.json")
    assert main(["show", plan]) == 0
    assert "\x1b[" in capsys.readouterr().out
    assert main(["--no-color", "show", plan]) == 0
    assert "\x1b[" not in capsys.readouterr().out
    assert "NO_COLOR" not in os.environ


def test_emulator_info_is_a_table_unless_json_is_asked(
    capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["emulator", "info"]) == 0
    out = capsys.readouterr().out
    assert "demo-rg/demo-ws (eastus)" in out and not out.lstrip().startswith(("[", "{"))
    assert main(["emulator", "info", "--format", "json"]) == 0
    assert capsys.readouterr().out.lstrip().startswith("[")
