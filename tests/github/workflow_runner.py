"""Run a workflow's `run:` steps as GitHub Actions would, on this machine: the job's and step's
`env:` with their `${{ }}` expressions taken from a table (an expression the table lacks is an
error, so the test and the workflow cannot drift apart), `bash --noprofile --norc -eo pipefail`
(what `shell: bash` runs), and $GITHUB_OUTPUT read back as the step's outputs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "github"
_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def workflow(name: str) -> dict[str, Any]:
    return dict(yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8")))


@dataclass
class StepResult:
    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]


def substitute(text: str, values: Mapping[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        expression = match.group(1)
        if expression not in values:
            raise KeyError(f"the test has no value for ${{{{ {expression} }}}}")
        return values[expression]

    return _EXPRESSION.sub(one, text)


def run_step(
    flow: Mapping[str, Any], job: str, step_id: str, values: Mapping[str, str], cwd: Path,
    base_env: Mapping[str, str],
) -> StepResult:
    """Run step `step_id` of `job` in `cwd`; its outputs are what it wrote to $GITHUB_OUTPUT."""
    spec = flow["jobs"][job]
    step = next(s for s in spec["steps"] if s.get("id") == step_id)
    env = dict(base_env)
    for key, value in {**spec.get("env", {}), **step.get("env", {})}.items():
        env[key] = substitute(str(value), values)
    output = cwd.parent / f"{cwd.name}-{job}-{step_id}.out"
    output.write_text("")
    env["GITHUB_OUTPUT"] = str(output)
    script = cwd.parent / f"{cwd.name}-{job}-{step_id}.sh"
    script.write_text(step["run"])
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    pairs = (line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return StepResult(done.returncode, done.stdout, done.stderr, dict(pairs))


def base_environment(**extra: str) -> dict[str, str]:
    """A runner's environment: this venv's amlctl first on PATH, nothing of the user's."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    keep = {k: os.environ[k] for k in ("HOME", "AMLCTL_EMULATOR_DB") if k in os.environ}
    return {**keep, "PATH": path, "NO_COLOR": "1", "GITHUB_ACTIONS": "true", **extra}
