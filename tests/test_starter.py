"""`amlctl init` writes a commented starter that validates as written; `amlctl schema` prints
the shipped schemas; the pre-commit hook runs `amlctl validate` on manifest files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from amlctl.cli import main
from amlctl.schemacheck import load_schema

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("kind", ["dsr", "export", "teardown"])
def test_init_writes_a_starter_that_validates(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init", "--kind", kind, "--workspace", "demo-ws", "--request-id", "DSR-9"]) == 0
    written = next((tmp_path / "manifests").glob("*.yaml"))
    text = written.read_text()
    assert text.startswith("# yaml-language-server: $schema=manifest.schema.json\n")
    assert text.count("#") > 5  # commented for a first-time reader
    assert (tmp_path / "manifests" / "manifest.schema.json").is_file()
    assert main(["validate", str(written)]) == 0
    assert main(["init", "--kind", kind, "--workspace", "demo-ws", "--request-id", "DSR-9"]) == 1
    assert "exists; pass --force" in capsys.readouterr().err


def test_init_refuses_a_workspace_azure_would_refuse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m.yaml"
    assert main(["init", str(out), "--kind", "export", "--workspace", "no spaces"]) == 1
    assert f"{out}:" in capsys.readouterr().err and not out.exists()


@pytest.mark.parametrize("name", ["manifest", "catalog", "plan"])
def test_schema_prints_the_shipped_schema(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", name]) == 0
    assert json.loads(capsys.readouterr().out) == load_schema(name)


def test_schema_names_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "manifests"]) == 1
    assert "choose one of manifest, catalog, plan" in capsys.readouterr().err


def test_the_pre_commit_hook_runs_validate_on_yaml() -> None:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "amlctl-validate" and hook["language"] == "python"
    assert hook["entry"].split() == ["amlctl", "validate"]
    assert set(hook) <= {"id", "name", "description", "entry", "language", "files", "types",
                         "require_serial", "pass_filenames", "args", "exclude"}
    files = re.compile(hook["files"])
    assert files.search("manifests/dsr-0042.yaml") and files.search("a/manifests/x.yml")
    assert not files.search(".github/workflows/amlctl-plan.yml")  # YAML, but no manifest
    entry = hook["entry"].split()[1:]
    examples = sorted(str(p) for p in (ROOT / "plans" / "examples").glob("*.yaml"))
    assert main([*entry, *examples]) == 0  # pre-commit passes the staged files as arguments
