"""The shipped workflows are sound: they parse, every action is pinned to the full commit of a
real release (tests/data/action_pins.json, read from each action's repository at its tag) and
given only inputs that release has, no `run:` script interpolates `${{ }}` (script injection:
values reach scripts through `env:`), and actionlint passes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / "examples" / "github").glob("*.yml"))
PINS: dict[str, dict[str, Any]] = json.loads((ROOT / "tests/data/action_pins.json").read_text())
_USES = re.compile(r"uses: (\S+)@(\S+) # (\S+)")


def _steps(flow: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for job in flow["jobs"].values():
        yield from job.get("steps", [])


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_the_workflow_parses_and_pins_every_action(path: Path) -> None:
    flow = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert flow["name"].startswith("amlctl") and flow["jobs"]
    for step in _steps(flow):
        if "uses" not in step:
            continue
        action, ref = step["uses"].split("@")
        pin = PINS.get(action)
        assert pin is not None, f"{path.name}: {action} is not a known action"
        assert ref == pin["sha"], f"{path.name}: {action} pinned to {ref}, not {pin['version']}"
        unknown = set(step.get("with", {})) - set(pin["inputs"])
        assert not unknown, f"{path.name}: {action} {pin['version']} has no input {unknown}"
        assert set(pin["required"]) <= set(step.get("with", {}))
    comments = _USES.findall(path.read_text(encoding="utf-8"))
    assert comments and all(PINS[a]["version"] == v for a, _sha, v in comments)


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_no_script_interpolates_an_expression(path: Path) -> None:
    flow = yaml.safe_load(path.read_text(encoding="utf-8"))
    for step in _steps(flow):
        assert "${{" not in step.get("run", ""), f"{path.name}: {step.get('name')}"


def test_actionlint_passes() -> None:
    beside = Path(sys.executable).parent  # the venv's bin, whether activated or not
    binary = shutil.which("actionlint", path=f"{beside}{os.pathsep}{os.environ.get('PATH', '')}")
    assert binary, "actionlint is in the test extra: pip install -e '.[test]'"
    done = subprocess.run([binary, "-shellcheck=", *map(str, WORKFLOWS)], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
