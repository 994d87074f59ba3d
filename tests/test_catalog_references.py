"""References between kinds declared in a catalog (`uses` with a `key`, `made_by`) order the
deletes of a plan, whatever the kinds are called."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from amlctl.catalog import load_catalog
from amlctl.inventory import Inventory, Item
from amlctl.inventory.needs import fields_to_keep
from amlctl.planning.graph import Planned, blocked, delete_order

CATALOG = load_catalog(str(Path(__file__).parent / "catalogs" / "references.yaml"))
WS = "ws"
ARM_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices"


def item(kind: str, name: str, **fields: Any) -> Item:
    return Item(WS, kind, name, name, "sha256:" + "0" * 64, {}, fields)


def version(name: str) -> Item:
    return item("model_version", name, id=f"{ARM_ID}/workspaces/ws/models/m/versions/{name}")


def planned(*items: Item) -> list[Planned]:
    return [Planned(f"delete:{WS}/{i.kind}/{i.id}", i) for i in items]


def inventory(*items: Item) -> Inventory:
    found = Inventory()
    for one in items:
        found.items.setdefault((WS, one.kind), []).append(one)
    return found


def test_a_use_by_arm_id_orders_the_user_first_and_blocks_when_it_stays() -> None:
    v1, v2 = version("1"), version("2")
    deployment = item("deployment", "blue", **{"properties.model": v1.fields["id"]})
    every = inventory(v1, v2, deployment)
    order = delete_order(CATALOG, every, planned(v1, v2, deployment))
    assert order["delete:ws/model_version/1"] == ("delete:ws/deployment/blue",)
    assert order["delete:ws/model_version/2"] == ()
    assert order["delete:ws/deployment/blue"] == ()
    refused = blocked(CATALOG, every, planned(v1, v2))  # the deployment stays
    assert list(refused) == ["delete:ws/model_version/1"]
    assert refused["delete:ws/model_version/1"].users == (deployment,)


def test_a_maker_goes_first_and_never_blocks() -> None:
    nightly = item("schedule", "nightly")
    made = item("job", "run-7", **{"properties.scheduleName": "nightly"})
    other = item("job", "run-8", **{"properties.scheduleName": None})
    every = inventory(nightly, made, other)
    order = delete_order(CATALOG, every, planned(nightly, made, other))
    assert order["delete:ws/job/run-7"] == ("delete:ws/schedule/nightly",)
    assert order["delete:ws/job/run-8"] == ()
    assert order["delete:ws/schedule/nightly"] == ()
    assert blocked(CATALOG, every, planned(made)) == {}  # the schedule stays: no refusal


def test_the_inventory_keeps_the_fields_references_need() -> None:
    keep = fields_to_keep(CATALOG, {})
    assert "properties.model" in keep["deployment"]
    assert "id" in keep["model_version"]  # the key a deployment refers to
    assert "properties.scheduleName" in keep["job"]
