"""The catalog drives planning and apply: nothing in the code may know a kind by its name.

A copy of the built-in 2019-11-01 catalog with every kind renamed (and the data-subject example
renamed with it) must plan and apply exactly as the original: the same changes per kind and
action, the same DELETEs, in an order that respects the same dependencies, exit 0. And where
the services answer list and get with different bodies (computes, images, services), plan then
apply must still find every item as the plan saw it.
"""

from __future__ import annotations

from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from apply_helpers import (
    DSR,
    EXAMPLES,
    TOKEN,
    Emulator,
    Planned,
    cli,
    emulator,
    log_path_of,
    plan_manifest,
)

from amlctl.catalog import expand, load_catalog
from amlctl.emulator.seed import RESOURCE_GROUP, SUBSCRIPTION, WORKSPACE

PREFIX = "renamed_"


def _renamed(name: str) -> str:
    return PREFIX + name


def _original(name: str) -> str:
    return name.removeprefix(PREFIX)


def renamed_catalog() -> dict[str, Any]:
    """The built-in catalog with every kind, and every reference to a kind, renamed."""
    text = resources.files("amlctl").joinpath("catalogs", "azureml-2019-11-01.yaml").read_text()
    data: dict[str, Any] = yaml.safe_load(text)
    data["name"] = "renamed-2019-11-01"
    kinds = {}
    for name, kind in data["kinds"].items():
        if "parent" in kind:
            kind["parent"]["kind"] = _renamed(kind["parent"]["kind"])
        for use in kind.get("uses", []):
            use["kind"] = _renamed(use["kind"])
        if "via" in kind.get("subject", {}):
            kind["subject"]["via"] = _renamed(kind["subject"]["via"])
        kinds[_renamed(name)] = kind
    data["kinds"] = kinds
    return data


def renamed_manifest(catalog_file: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((EXAMPLES / f"{DSR}.yaml").read_text())
    data["catalog"] = catalog_file
    for section in ("export", "delete"):
        for selector in data[section]["select"]:
            selector["kind"] = _renamed(selector["kind"])
    return data


def plan_and_apply(folder: Path, manifest: Path, emu: Emulator) -> tuple[Planned, list[str]]:
    """Plan `manifest` and apply it with --yes; the plan and the DELETEs sent, in order."""
    planned = plan_manifest(emu, manifest)
    mark = emu.mark()
    result = cli("apply", str(planned.path), "--endpoint", emu.origin, "--yes")
    assert result.code == 0, result.text
    assert planned.receipt()["complete"] is True
    return planned, [entry["path"] for entry in emu.deletes(mark)]


def by_kind_and_action(planned: Planned) -> Counter[tuple[str, str]]:
    return Counter((_original(c["kind"]), c["action"]) for c in planned.changes)


def test_a_catalog_with_every_kind_renamed_plans_and_applies_as_the_original(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original_dir, renamed_dir = tmp_path / "original", tmp_path / "renamed"
    for folder in (original_dir, renamed_dir):
        folder.mkdir()

    monkeypatch.chdir(original_dir)
    manifest = original_dir / f"{DSR}.yaml"
    manifest.write_text((EXAMPLES / f"{DSR}.yaml").read_text())
    with emulator(tmp_path / "emu-original") as emu:
        original, original_deletes = plan_and_apply(original_dir, manifest, emu)

    monkeypatch.chdir(renamed_dir)
    (renamed_dir / "renamed.yaml").write_text(yaml.safe_dump(renamed_catalog()))
    manifest = renamed_dir / f"{DSR}.yaml"
    manifest.write_text(yaml.safe_dump(renamed_manifest("renamed.yaml")))
    with emulator(tmp_path / "emu-renamed") as emu:
        renamed, renamed_deletes = plan_and_apply(renamed_dir, manifest, emu)

    assert {c["kind"] for c in renamed.changes} - {"manual"} <= {
        _renamed(c["kind"]) for c in original.changes
    }
    assert by_kind_and_action(renamed) == by_kind_and_action(original)
    assert sorted(renamed_deletes) == sorted(original_deletes)
    assert len(renamed_deletes) == len(original.deletes) > 0
    # The same order, from the renamed catalog's data alone: each delete after its `after`.
    for planned, sent in ((original, original_deletes), (renamed, renamed_deletes)):
        at = {path: i for i, path in enumerate(sent)}
        url = {c["address"]: c["url"] for c in planned.deletes}
        ordered = [c for c in planned.deletes if c["after"]]
        assert ordered, "the example deletes images and services: some deletes wait"
        for change in ordered:
            for before in change["after"]:
                assert at[log_path_of(url[before])] < at[log_path_of(change["url"])]


LIST_GET_MANIFEST = """\
version: 1
name: list-and-get
catalog: azureml-2019-11-01
workspaces:
  - {subscriptionId: 6a3c9f1e-2b4d-4c8a-9e1f-0123456789ab, resourceGroup: demo-rg,
     workspace: demo-ws, location: eastus}
export:
  to: exports/list-and-get
  select:
    - {kind: compute, all: true}
    - {kind: image, all: true}
    - {kind: service, all: true}
delete:
  select:
    - {kind: image, all: true}
    - {kind: service, all: true}
"""


def test_items_whose_list_and_get_bodies_differ_are_not_skipped_as_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    manifest = tmp_path / "list-and-get.yaml"
    manifest.write_text(LIST_GET_MANIFEST)
    with emulator(tmp_path / "emu") as emu:
        planned = plan_manifest(emu, manifest)
        kinds = {c["kind"] for c in planned.exports} | {c["kind"] for c in planned.deletes}
        assert kinds == {"compute", "image", "service"}
        # What the plan saw (a list item) is not what apply reads (a get body).
        for kind in ("compute", "image", "service"):
            change = next(c for c in planned.exports if c["kind"] == kind)
            got = read(emu, change["url"])
            listed = next(i for i in list_of(emu, kind) if i.get("id") == got["id"])
            assert listed != got, kind
        mark = emu.mark()
        result = cli("apply", str(planned.path), "--endpoint", emu.origin, "--yes")
        assert result.code == 0, result.text
        items = planned.receipt_items()
        assert {item["result"] for item in items.values()} == {"exported", "deleted"}
        assert len(emu.deletes(mark)) == len(planned.deletes)


def read(emu: Emulator, url: str) -> dict[str, Any]:
    """GET a catalog URL from the emulator, as a client would."""
    session = requests.Session()
    session.trust_env = False
    reply = session.get(emu.origin + log_path_of(url), headers={"Authorization": f"Bearer {TOKEN}"})
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def list_of(emu: Emulator, kind: str) -> list[dict[str, Any]]:
    catalog = load_catalog("azureml-2019-11-01")
    scope = {"subscriptionId": SUBSCRIPTION, "resourceGroupName": RESOURCE_GROUP,
             "workspaceName": WORKSPACE, "location": "eastus"}
    url = expand(catalog.kind(kind).op("list"), scope, catalog.hosts)
    items: list[dict[str, Any]] = read(emu, url)["value"]
    return items
