"""Golden behaviour of `amlctl plan` on the emulator's demo data: review tests/cases/ like code.

Each folder under tests/cases/ holds a `manifest.yaml`, a `case.yaml` saying how to set the
emulator up, and what `amlctl plan` must produce: `plan.txt` (text, no colour), `plan.md`
(markdown) and `plan.json` (the plan file), or, for a plan that must be refused, `error.txt`
(what it prints on stderr). `AMLCTL_UPDATE_GOLDEN=1` rewrites them; review the diff.

`case.yaml` (every key optional):

    about: what the case shows, for the reader
    store:               # edits to the demo data before planning; kinds are the emulator's own
      - {delete: {workspace: demo-ws, kind: model, id: "churn-model:2"}}     # (task, not
      - {patch: {workspace: demo-ws, kind: run, id: ..., fields: {...}}}     #  notification_task)
      - {delete_workspace: demo-ws-eu}
    export_index:        # an index.json in the export folder, as an earlier apply left it
      current: [export:demo-ws/model/churn-model:1]  # fingerprint as this plan sees it: unchanged
      stale: [export:demo-ws/model/fraud-detect:2]   # an older fingerprint: changed
    store_after_index: [...]  # edits made after that export (the item changed since)
    exit: 1              # a refused plan: error.txt holds stderr, and no plan file is written

Each plan runs in a temp folder holding a copy of the manifest (so the plan records the
relative path `manifest.yaml` and exports resolve there), on a fresh demo database, through
`--emulator` (whose recorded target has no port), with SOURCE_DATE_EPOCH fixed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from amlctl.cli import main
from amlctl.emulator.database import open_store
from amlctl.emulator.seed import RESOURCE_GROUP, SUBSCRIPTION
from amlctl.emulator.store import Store, workspace_key

CASES = Path(__file__).parent / "cases"
EPOCH = "1795000000"  # 2026-11-18T11:06:40Z
FORMATS = {"text": "plan.txt", "markdown": "plan.md"}
_CASE_KEYS = {"about", "store", "export_index", "store_after_index", "exit"}


def _names() -> list[str]:
    return sorted(p.name for p in CASES.iterdir() if (p / "manifest.yaml").is_file())


def _case(name: str) -> dict[str, Any]:
    path = CASES / name / "case.yaml"
    case: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    unknown = set(case or {}) - _CASE_KEYS
    assert not unknown, f"{path}: unknown keys {sorted(unknown)}"
    return case or {}


def _edit(store: Store, edits: list[dict[str, Any]]) -> None:
    for edit in edits:
        ((what, args),) = edit.items()
        if what == "delete_workspace":
            assert store.delete_workspace(workspace_key(SUBSCRIPTION, RESOURCE_GROUP, args))
            continue
        ws = workspace_key(SUBSCRIPTION, RESOURCE_GROUP, args["workspace"])
        if what == "delete":
            assert store.delete(ws, args["kind"], args["id"]), f"nothing to delete: {args}"
        elif what == "patch":
            store.patch(ws, args["kind"], args["id"], args["fields"])
        else:
            raise AssertionError(f"unknown store edit {what!r}")


def _edit_db(edits: list[dict[str, Any]]) -> None:
    if not edits:
        return
    store = open_store(Path(os.environ["AMLCTL_EMULATOR_DB"]), "demo")
    try:
        _edit(store, edits)
    finally:
        store.close()


def _plan(capsys: pytest.CaptureFixture[str], fmt: str, out: str) -> tuple[int, str, str]:
    code = main(
        ["plan", "manifest.yaml", "-o", out, "--emulator", "--format", fmt, "--detailed-exitcode"]
    )
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _write_index(doc: dict[str, Any], spec: dict[str, list[str]]) -> None:
    """index.json as apply writes it, for the addresses `spec` names (see the module doc)."""
    changes = {c["address"]: c for c in doc["changes"]}
    items: dict[str, dict[str, Any]] = {}
    for state in ("current", "stale"):
        for address in spec.get(state, []):
            change = changes[address]  # a KeyError names an address the case got wrong
            seen = change["fingerprint"]
            older = "sha256:" + hashlib.sha256(f"before {seen}".encode()).hexdigest()
            body = f"exported {address}".encode()
            items[address] = {
                "exported_at": "2026-11-01T09:00:00Z",
                "file": change["file"],
                "fingerprint": seen if state == "current" else older,
                "request_id": "00000000-0000-4000-8000-000000000001",
                "sha256": hashlib.sha256(body).hexdigest(),
                "size": len(body),
                "source_url": change["url"],
            }
    folder = Path(doc["export_to"])
    folder.mkdir(parents=True, exist_ok=True)
    index = {"format_version": "1.0", "items": items}
    (folder / "index.json").write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")


def _golden(path: Path, actual: str) -> None:
    if os.environ.get("AMLCTL_UPDATE_GOLDEN") == "1":
        path.write_bytes(actual.encode("utf-8"))
        return
    if not path.exists():
        pytest.fail(f"no golden file {path}; run with AMLCTL_UPDATE_GOLDEN=1 and review it")
    assert actual == path.read_bytes().decode("utf-8"), (
        f"{path} differs; if the change is intended, run with AMLCTL_UPDATE_GOLDEN=1 and "
        "review the diff"
    )


@pytest.mark.parametrize("name", _names())
def test_plan_case(
    name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    case, folder = _case(name), CASES / name
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("AMLCTL_ENDPOINT", raising=False)
    shutil.copyfile(folder / "manifest.yaml", tmp_path / "manifest.yaml")
    monkeypatch.chdir(tmp_path)
    _edit_db(case.get("store", []))
    if "export_index" in case:
        code, _, err = _plan(capsys, "json", "first.plan.json")
        assert code in (0, 2), err
        _write_index(json.loads(Path("first.plan.json").read_text()), case["export_index"])
    _edit_db(case.get("store_after_index", []))

    if case.get("exit"):
        code, out, err = _plan(capsys, "text", "plan.json")
        assert code == case["exit"], err
        assert out == ""
        assert not Path("plan.json").exists(), "a refused plan must not leave a plan file"
        _golden(folder / "error.txt", err)
        return

    saved: list[bytes] = []
    for fmt in ("text", "markdown", "json"):
        code, out, err = _plan(capsys, fmt, "plan.json")
        assert err.endswith("Saved the plan to plan.json\n"), err
        saved.append(Path("plan.json").read_bytes())
        doc = json.loads(saved[-1])
        changes = doc["summary"]["export"] + doc["summary"]["delete"]
        assert code == (2 if changes else 0), err
        if fmt == "json":
            assert out.encode("utf-8") == saved[-1], "--format json must print the plan file"
        else:
            _golden(folder / FORMATS[fmt], out)
    assert saved[0] == saved[1] == saved[2], "the same state must give byte-identical plans"
    _golden(folder / "plan.json", saved[0].decode("utf-8"))
