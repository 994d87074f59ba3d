"""Hostile input files end in a clean `file:line` error and exit 1: never a crash log, never a
hang (a CI validator must not be stopped by a FIFO or /dev/zero)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXPORT = (REPO / "plans" / "examples" / "workspace-export.yaml").read_text()


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "amlctl", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=path.parent,
        check=False,
    )


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("version: 1\nname: x\nworkspaces: " + "[" * 5000 + "]" * 5000 + "\n",
         ":1:1: error: $: nested deeper than 64 levels"),
        ("version: 1\nname: x\nworkspaces: " + "[" * 70 + "]" * 70 + "\n",
         "nested deeper than 64 levels"),
        ("version: 1\nname: &a [*a]\n", ":2:7: error: $.name[0]: a YAML alias refers to itself"),
        ("version: 1\nname: x\nlimits: {maxDeletes: " + "9" * 5000 + "}\n",
         ":3:22: error: $.limits.maxDeletes: cannot read this value: a number of thousands"),
        ("version: 1\nname: !!python/name:os.system x\n",
         ":2:7: error: $.name: tag 'tag:yaml.org,2002:python/name:os.system' is not allowed"),
    ],
    ids=["deep-5000", "deep-70", "recursive-alias", "5000-digits", "python-tag"],
)
def test_hostile_yaml_is_a_clean_error(tmp_path: Path, text: str, said: str) -> None:
    path = tmp_path / "hostile.yaml"
    path.write_text(text)
    done = validate(path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert said in done.stdout
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("target", ["/dev/zero", "fifo.yaml", "folder"])
def test_a_catalog_that_is_no_regular_file_is_refused_at_once(
    tmp_path: Path, target: str
) -> None:
    if target == "fifo.yaml":
        os.mkfifo(tmp_path / target)  # opening it for reading would wait for a writer
    if target == "folder":
        (tmp_path / target).mkdir()
    manifest = tmp_path / "m.yaml"
    manifest.write_text(EXPORT.replace("catalog: azureml-2019-11-01", f"catalog: {target}"))
    done = validate(manifest)
    assert done.returncode == 1
    assert "not a regular file (a device, FIFO or folder); refusing to read it" in done.stdout


def test_an_oversized_manifest_is_refused_before_it_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("# " + "x" * (1024 * 1024 + 10) + "\n")
    done = validate(path)
    assert done.returncode == 1 and "the limit is 1048576 (1 MiB)" in done.stdout
