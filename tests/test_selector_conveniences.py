"""Selector conveniences against the emulator: `not:` leaves items out, `workspace:` scopes a
selector to one workspace, and an id no workspace has is one warning (a typo, most likely)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from amlctl.cli import main

HEAD = """\
version: 1
name: sel
catalog: azureml-2019-11-01
workspaces:
  - {subscriptionId: 6a3c9f1e-2b4d-4c8a-9e1f-0123456789ab, resourceGroup: demo-rg, workspace: demo-ws, location: eastus}
  - {subscriptionId: 6a3c9f1e-2b4d-4c8a-9e1f-0123456789ab, resourceGroup: demo-rg, workspace: demo-ws-eu, location: westeurope}
"""  # noqa: E501


@pytest.fixture(autouse=True)
def _in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")


def _plan(tmp_path: Path, body: str) -> tuple[int, dict[str, object] | None]:
    (tmp_path / "m.yaml").write_text(HEAD + body)
    code = main(["plan", "m.yaml", "--emulator", "-o", "p.json", "--format", "json"])
    path = tmp_path / "p.json"
    return code, json.loads(path.read_text()) if path.exists() else None


def _ids(doc: dict[str, object], action: str) -> set[tuple[str, str]]:
    changes = doc["changes"]
    assert isinstance(changes, list)
    return {(c["workspace"], c["id"]) for c in changes if c["action"] == action}


def test_not_leaves_out_what_it_selects_and_warns_of_an_id_it_cannot_find(
    tmp_path: Path,
) -> None:
    code, doc = _plan(tmp_path, """export:
  to: exports/sel
  select:
    - {kind: model, all: true, not: {ids: ["churn-model:1", "churn-modle:2"], name: "churn-*"}}
    - {kind: service, all: true, not: {name: "churn-svc-*"}}
""")
    assert code == 0 and doc is not None
    exported = _ids(doc, "export")
    assert ("demo-ws", "churn-model:1") not in exported
    assert ("demo-ws", "churn-model:2") in exported  # only ids AND name are left out
    assert ("demo-ws", "churn-svc") in exported and ("demo-ws-eu", "churn-svc-eu") not in exported
    warnings = doc["warnings"]
    assert isinstance(warnings, list)
    assert [w for w in warnings if "churn-modle:2" in w] == [
        "export.select[0].not.ids: churn-modle:2 not found in any of the 2 workspaces "
        "(demo-ws, demo-ws-eu), so nothing is left out for it: check the spelling"]


def test_a_misspelt_path_under_not_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc = _plan(tmp_path, """delete:
  select:
    - {kind: model, all: true, not: {where: {nmae: {equals: keep}}}}
""")
    assert code == 1 and doc is None
    assert "no model item has a field 'nmae'" in capsys.readouterr().err


def test_a_selector_scoped_to_one_workspace_acts_there_only(tmp_path: Path) -> None:
    code, doc = _plan(tmp_path, """export:
  to: exports/sel
  select:
    - {kind: service, all: true, workspace: demo-ws-eu}
    - {kind: image, ids: ["churn-img:1"], workspace: demo-ws}
""")
    assert code == 0 and doc is not None
    assert {ws for ws, _ in _ids(doc, "export")} == {"demo-ws-eu", "demo-ws"}
    assert ("demo-ws", "churn-svc") not in _ids(doc, "export")
    assert _ids(doc, "absent") == set()  # churn-img:1 is not looked for in demo-ws-eu


def test_an_id_in_no_workspace_is_one_warning_not_one_per_workspace(tmp_path: Path) -> None:
    code, doc = _plan(tmp_path, """delete:
  select:
    - {kind: service, ids: [churn-svc, churn-svcc]}
""")
    assert code == 0 and doc is not None
    warnings = doc["warnings"]
    assert isinstance(warnings, list)
    assert [w for w in warnings if "churn-svc" in w] == [
        "delete.select[0].ids: churn-svcc not found in any of the 2 workspaces (demo-ws, "
        "demo-ws-eu), shown as already absent: check the spelling"]


def test_a_scope_that_is_no_workspace_of_the_manifest_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "m.yaml").write_text(HEAD + """export:
  to: exports/sel
  select:
    - {kind: service, all: true, workspace: demo-ws-us}
""")
    assert main(["validate", "m.yaml"]) == 1
    assert ("m.yaml:10:45: error: $.export.select[0].workspace: 'demo-ws-us' is not the name of "
            "a workspace in `workspaces` (demo-ws, demo-ws-eu)") in capsys.readouterr().out
