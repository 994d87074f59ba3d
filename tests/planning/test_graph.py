"""The delete order, and the deletes the service would refuse, read from the catalog's `uses`
and `parent`, on literal inventories."""

from __future__ import annotations

from dataclasses import replace

import pytest

from amlctl.catalog import Catalog, Use, load_catalog
from amlctl.inventory import Item
from amlctl.planning.graph import Blocker, Planned, blocked, delete_order, users

from .inventory_factories import (
    EU,
    JANE_OID,
    artifact,
    experiment,
    image,
    inventory,
    metric,
    model,
    run,
    service,
    workspace,
)

CATALOG = load_catalog("azureml-2019-11-01")

ARTICLE_CATALOGS = ("azureml-2018-03-01-preview", "azureml-2019-11-01")  # images, services


def address(item: Item) -> str:
    return f"delete:{item.workspace}/{item.kind}/{item.id}"


def order(
    *deleted: Item, also: tuple[Item, ...] = (), catalog: Catalog = CATALOG
) -> dict[str, tuple[str, ...]]:
    """The delete order of `deleted`, in an inventory holding them and `also`."""
    inv = inventory(*deleted, *also)
    return delete_order(catalog, inv, [Planned(address(i), i) for i in deleted])


MODEL = model("churn-model:1")
IMAGE = image("churn-img:1", ["churn-model:1"])
SERVICE = service("churn-svc", "churn-img:1")


@pytest.mark.parametrize("name", ARTICLE_CATALOGS)
def test_an_image_goes_after_the_services_using_it(name: str) -> None:
    other = service("churn-svc-2", "churn-img:1")
    got = order(IMAGE, other, SERVICE, catalog=load_catalog(name))
    assert got[address(IMAGE)] == (address(SERVICE), address(other))
    assert got[address(SERVICE)] == got[address(other)] == ()


def test_a_model_goes_after_every_image_holding_it() -> None:
    second = model("churn-model:2")
    both = image("both-img:1", ["churn-model:1", "churn-model:2"])
    got = order(MODEL, second, IMAGE, both)
    assert got[address(MODEL)] == (address(both), address(IMAGE))
    assert got[address(second)] == (address(both),)
    assert got[address(IMAGE)] == got[address(both)] == ()


def test_service_image_and_model_form_a_chain() -> None:
    got = order(SERVICE, IMAGE, MODEL)
    assert got == {
        address(SERVICE): (),
        address(IMAGE): (address(SERVICE),),
        address(MODEL): (address(IMAGE),),
    }


def test_the_workspace_goes_after_every_other_delete_in_it() -> None:
    ws = workspace()
    got = order(ws, SERVICE, IMAGE, MODEL, experiment("churn"))
    assert got[address(ws)] == tuple(sorted(
        address(i) for i in (SERVICE, IMAGE, MODEL, experiment("churn"))))


def test_a_nested_delete_hangs_on_its_nearest_deleted_ancestor() -> None:
    exp = experiment("churn")
    r = run("run-1", exp, oid=JANE_OID)
    got = order(workspace(), exp, r, artifact("out.txt", r))
    assert got[address(r)] == (address(artifact("out.txt", r)),)
    assert got[address(exp)] == (address(r),)
    assert got[address(workspace())] == (address(exp),)


def test_a_nested_delete_skips_an_ancestor_that_stays() -> None:
    exp = experiment("churn")
    r = run("run-1", exp, oid=JANE_OID)
    file = artifact("out.txt", r)
    got = order(workspace(), exp, file, also=(r,))  # the run stays; its experiment goes
    assert got[address(exp)] == (address(file),)
    assert got[address(workspace())] == (address(exp),)


def test_a_nested_delete_whose_parents_stay_hangs_on_the_workspace() -> None:
    exp = experiment("churn")
    r = run("run-1", exp, oid=JANE_OID)
    file, acc = artifact("out.txt", r), metric("acc", r)
    got = order(workspace(), file, acc, also=(exp, r))
    assert got[address(workspace())] == (address(file), address(acc))


def test_a_nested_delete_whose_parent_is_not_in_the_inventory_hangs_on_the_workspace() -> None:
    r = run("run-1", experiment("churn"), oid=JANE_OID)
    file = artifact("out.txt", r)
    got = order(workspace(), file)  # neither the run nor its experiment was listed
    assert got[address(workspace())] == (address(file),)


def test_nothing_waits_across_workspaces() -> None:
    eu_model = model("churn-model:1", ws=EU)
    eu_ws = workspace(EU)
    got = order(IMAGE, eu_model, eu_ws, workspace())
    assert got[address(eu_model)] == ()  # the image that holds churn-model:1 is in demo-ws
    assert got[address(eu_ws)] == (address(eu_model),)
    assert got[address(workspace())] == (address(IMAGE),)


def test_deletes_that_wait_on_nothing_map_to_empty() -> None:
    got = order(MODEL, model("fraud-model:1"), SERVICE)
    assert got == {address(MODEL): (), address(model("fraud-model:1")): (), address(SERVICE): ()}


def test_a_used_item_whose_user_stays_gets_no_edge() -> None:
    # The image is in the inventory but not deleted: nothing the plan runs comes first.
    got = order(MODEL, also=(IMAGE, SERVICE))
    assert got == {address(MODEL): ()}


def test_a_uses_field_may_hold_one_id_or_a_list_with_nulls() -> None:
    single = image("single-img:1", []).replace(fields={"modelIds": "churn-model:1"})
    odd = image("odd-img:1", []).replace(fields={"modelIds": [None, "churn-model:1"]})
    empty = image("empty-img:1", []).replace(fields={"modelIds": None})
    got = order(MODEL, single, odd, empty)
    assert got[address(MODEL)] == (address(odd), address(single))


def test_users_finds_the_images_holding_a_model() -> None:
    both = image("both-img:1", ["fraud-model:1", "churn-model:1"])
    inv = inventory(MODEL, IMAGE, both, image("fraud-img:1", ["fraud-model:1"]),
                    image("churn-img:1", ["churn-model:1"], EU), SERVICE)
    assert [i.id for i in users(CATALOG, inv, MODEL)] == ["churn-img:1", "both-img:1"]
    assert [i.id for i in users(CATALOG, inv, IMAGE)] == ["churn-svc"]
    assert list(users(CATALOG, inv, SERVICE)) == []


def refused(
    *deleted: Item, also: tuple[Item, ...] = (), catalog: Catalog = CATALOG
) -> dict[str, Blocker]:
    """The blocked deletes among `deleted`, in an inventory holding them and `also`."""
    inv = inventory(*deleted, *also)
    return blocked(catalog, inv, [Planned(address(i), i) for i in deleted])


@pytest.mark.parametrize("name", ARTICLE_CATALOGS)
def test_a_delete_whose_user_stays_is_blocked_by_it(name: str) -> None:
    other = image("other-img:1", ["fraud-model:1"])
    got = refused(MODEL, also=(IMAGE, other, SERVICE), catalog=load_catalog(name))
    assert got == {address(MODEL): Blocker((IMAGE,), kept=True)}


def test_only_the_users_that_stay_are_named() -> None:
    both = image("both-img:1", ["churn-model:1"])
    third = image("third-img:1", ["churn-model:1"])
    got = refused(MODEL, IMAGE, also=(both, third))
    assert got == {address(MODEL): Blocker((both, third))}  # in the inventory's order
    # The deleted image is not blocked: nothing uses it.
    assert address(IMAGE) not in got


def test_a_kept_service_blocks_its_image_and_through_it_the_model() -> None:
    got = refused(IMAGE, MODEL, also=(SERVICE,))
    assert got == {
        address(IMAGE): Blocker((SERVICE,), kept=True),
        address(MODEL): Blocker((IMAGE,), kept=False),
    }


def test_a_block_passes_down_only_through_blocked_users() -> None:
    # both-img:1 holds both models and goes; churn-img:1 holds the first and is blocked.
    second = model("churn-model:2")
    both = image("both-img:1", ["churn-model:1", "churn-model:2"])
    got = refused(MODEL, second, both, IMAGE, also=(SERVICE,))
    assert got == {
        address(IMAGE): Blocker((SERVICE,)),
        address(MODEL): Blocker((IMAGE,), kept=False),  # both-img:1 goes: not named
    }  # churn-model:2 is held by both-img:1 alone, whose delete is not blocked


def test_a_user_under_a_deleted_parent_still_blocks() -> None:
    # The workspace's delete would take the image along, but the image's delete is not in the
    # plan: containment does not unblock the model.
    got = refused(workspace(), MODEL, also=(IMAGE,))
    assert got == {address(MODEL): Blocker((IMAGE,))}


def test_what_lies_under_an_item_never_blocks_it() -> None:
    exp = experiment("churn")
    r = run("run-1", exp, oid=JANE_OID)
    got = refused(workspace(), exp, also=(r, artifact("out.txt", r), MODEL, IMAGE, SERVICE))
    assert got == {}


def test_nothing_is_blocked_when_every_user_is_deleted_too() -> None:
    both = image("both-img:1", ["churn-model:1"])
    assert refused(SERVICE, IMAGE, MODEL, both, workspace()) == {}
    assert refused(MODEL, also=()) == {}


def test_a_user_in_another_workspace_does_not_block() -> None:
    got = refused(MODEL, also=(image("churn-img:1", ["churn-model:1"], EU),
                               service("churn-svc", "churn-img:1", EU)))
    assert got == {}
    eu_model = model("churn-model:1", ws=EU)
    got = refused(eu_model, MODEL, IMAGE)  # demo-ws's image holds demo-ws's model only
    assert got == {}


def test_users_finds_images_that_were_looked_up_by_id() -> None:
    inv = inventory(MODEL, looked_up=[IMAGE])
    assert [i.id for i in users(CATALOG, inv, MODEL)] == ["churn-img:1"]


def test_users_yields_an_item_both_listed_and_looked_up_once() -> None:
    fraud = image("fraud-img:1", ["churn-model:1"])
    eu = image("eu-img:1", ["churn-model:1"], EU)
    # The listed reading of churn-img:1 comes first, whatever its lookup holds.
    read_again = IMAGE.replace(fingerprint="etag:other")
    inv = inventory(MODEL, IMAGE, looked_up=[read_again, fraud, eu])
    assert list(users(CATALOG, inv, MODEL)) == [IMAGE, fraud]
    # A lookup that names the item counts even when the listed reading does not.
    bare = IMAGE.replace(fields={"modelIds": []})
    inv = inventory(MODEL, bare, looked_up=[IMAGE],
                    missing=[(EU, "image", "churn-img:1")])
    assert list(users(CATALOG, inv, MODEL)) == [IMAGE]


def test_a_kept_user_known_only_by_its_lookup_blocks() -> None:
    inv = inventory(MODEL, looked_up=[IMAGE])
    got = blocked(CATALOG, inv, [Planned(address(MODEL), MODEL)])
    assert got == {address(MODEL): Blocker((IMAGE,))}


def test_users_by_a_key_field_are_found_listed_or_looked_up() -> None:
    # A catalog whose images name their models by ARM id rather than by id.
    arm = "/subscriptions/s/models/churn-model:1"
    keyed = replace(CATALOG.kind("image"), uses=(Use("model", "modelIds", "properties.armId"),))
    catalog = replace(CATALOG, kinds={**CATALOG.kinds, "image": keyed})
    used = MODEL.replace(fields={"runId": None, "properties.armId": arm})
    listed = image("listed-img:1", [arm])
    looked_up = image("looked-up-img:1", [arm])
    by_id = image("by-id-img:1", ["churn-model:1"])  # the id is not the key: no use
    inv = inventory(used, listed, by_id, looked_up=[looked_up, listed])
    assert list(users(catalog, inv, used)) == [listed, looked_up]
    assert list(users(catalog, inv, MODEL)) == []  # no key to be named by
