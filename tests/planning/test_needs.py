"""What a manifest needs read: kinds to list, ids to look up, fields to keep, list order."""

from __future__ import annotations

from dataclasses import replace

from amlctl.catalog import load_catalog
from amlctl.inventory import Inventory
from amlctl.inventory.needs import Needs, fields_to_keep, needs, top_down
from amlctl.manifest import Manifest

from .manifest_factories import manifest, request, select, where
from .scenarios import (
    dsr_inventory,
    dsr_manifest,
    teardown_and_dsr_manifest,
    two_workspaces_inventory,
)

CATALOG = load_catalog("azureml-2019-11-01")


def of(m: Manifest) -> Needs:
    return needs(m, CATALOG)


WORKSPACE = {"workspace": frozenset()}  # the workspace itself, always read


def test_the_workspace_itself_is_always_looked_up() -> None:
    for m in (manifest(export=[select("model", all=True)]),
              manifest(delete=[select("asset", name="x-*")]),
              manifest(delete=[select("workspace", confirm="demo-ws")])):
        assert of(m).looked_up == WORKSPACE


def test_her_metrics_need_her_runs_and_their_experiments_listed() -> None:
    wanted = of(manifest(export=[select("metric", subject=True)], request=request()))
    assert wanted.listed == {"metric", "run", "experiment"}
    assert wanted.looked_up == WORKSPACE


def test_her_models_need_runs_listed_though_models_hang_off_the_workspace() -> None:
    wanted = of(manifest(export=[select("model", subject=True)], request=request()))
    assert wanted.listed == {"model", "run", "experiment"}
    # Deleting them lists the images as well: an image holding one keeps it from going.
    wanted = of(manifest(delete=[select("model", subject=True)], request=request()))
    assert wanted.listed == {"model", "run", "experiment", "image"}


def test_kinds_chosen_only_by_subject_are_subject_only() -> None:
    wanted = of(manifest(request=request(), export=[
        select("metric", subject=True), select("artifact", subject=True),
        select("run", subject=True), select("model", all=True),
    ], delete=[select("model", subject=True)]))
    assert wanted.subject_only == {"metric", "artifact", "run"}
    # Images are read as the users of a deleted kind, not as a selection: never subject-only.
    assert wanted.listed == {"metric", "artifact", "run", "experiment", "model", "image"}


def test_a_kind_also_chosen_otherwise_is_not_subject_only() -> None:
    wanted = of(manifest(request=request(), export=[
        select("artifact", subject=True), select("artifact", name="outputs/*")]))
    assert wanted.subject_only == frozenset()


def test_top_level_kinds_named_by_id_alone_are_looked_up() -> None:
    wanted = of(manifest(export=[select("model", ids=("m:1",)), select("pipeline_graph",
                                                                        ids=("g-1",))],
                         delete=[select("model", ids=("m:2",)),
                                 select("workspace", confirm="demo-ws")]))
    assert wanted.looked_up == {"model": {"m:1", "m:2"}, "pipeline_graph": {"g-1"},
                                "workspace": frozenset()}
    # The deleted model's users are listed (nothing uses a workspace); models stay looked up.
    assert wanted.listed == {"image"}
    exports_only = of(manifest(export=[select("model", ids=("m:1",))]))
    assert exports_only.looked_up == {"model": {"m:1"}, **WORKSPACE}
    assert exports_only.listed == frozenset()


def test_ids_of_nested_or_unfetchable_kinds_are_listed() -> None:
    # Runs have a get, but only under an experiment; experiments have no get at all.
    wanted = of(manifest(export=[select("run", ids=("run-1",)),
                                 select("experiment", ids=("churn",))]))
    assert wanted.listed == {"run", "experiment"}
    assert wanted.looked_up == WORKSPACE


def test_ids_and_another_criterion_of_one_kind_list_it() -> None:
    wanted = of(manifest(export=[select("model", ids=("m:1",))],
                         delete=[select("model", name="churn-*")]))
    assert wanted.listed == {"model", "image"}  # images: the users of a deleted kind
    assert "model" not in wanted.looked_up


def test_the_users_of_every_deleted_kind_are_listed() -> None:
    def listed(*deleted: str) -> frozenset[str]:
        return of(manifest(delete=[select(kind, ids=("x",)) for kind in deleted])).listed

    assert listed("model") == {"image"}  # images hold models
    assert listed("image") == {"service"}  # services run images
    assert listed("model", "image") == {"image", "service"}
    # Only the users of what is deleted, not theirs in turn: a model's delete does not list
    # services (an image's blocked delete is found from the images alone).
    assert "service" not in listed("model")
    assert listed("service") == listed("asset") == frozenset()  # nothing uses them
    assert listed("workspace") == frozenset()  # what lies under it is not a user


def test_the_users_of_an_exported_kind_are_not_listed() -> None:
    wanted = of(manifest(export=[select("model", ids=("m:1",)), select("image", ids=("i:1",))]))
    assert wanted.listed == frozenset()
    assert wanted.looked_up == {"model": {"m:1"}, "image": {"i:1"}, **WORKSPACE}


def test_users_are_listed_with_their_parents_and_only_if_they_can_be() -> None:
    image = CATALOG.kind("image")
    nested = replace(CATALOG, kinds={**CATALOG.kinds, "image": replace(image, parent="experiment")})
    assert needs(manifest(delete=[select("model", ids=("m:1",))]), nested).listed == {
        "image", "experiment"}
    unlisted = replace(CATALOG, kinds={**CATALOG.kinds, "image": replace(
        image, operations={k: v for k, v in image.operations.items() if k != "list"})})
    wanted = needs(manifest(delete=[select("model", ids=("m:1",))]), unlisted)
    assert wanted.listed == frozenset()
    assert wanted.looked_up == {"model": {"m:1"}, **WORKSPACE}


def test_fields_kept_are_creators_links_uses_and_parent_variables() -> None:
    keep = fields_to_keep(CATALOG, {})
    assert keep["run"] == {"createdBy.userObjectId", "createdBy.userName", "dataContainerId"}
    assert keep["notification_task"] == {"createdBy.userObjectId", "createdBy.userName"}
    assert keep["metric"] == {"runId"}
    assert keep["model"] == {"runId"}
    assert keep["asset"] == {"runid"}
    assert keep["artifact"] == {"container"}
    assert keep["image"] == {"modelIds"}
    assert keep["service"] == {"imageId"}
    assert keep["experiment"] == {"name"}  # runs and metrics are listed by experiment name
    assert keep["workspace"] == keep["compute"] == frozenset()


def test_a_subject_links_key_is_kept_on_the_kind_it_goes_through() -> None:
    artifact = CATALOG.kind("artifact")
    assert artifact.subject is not None
    keyed = replace(artifact, subject=replace(artifact.subject, key="properties.container"))
    catalog = replace(CATALOG, kinds={**CATALOG.kinds, "artifact": keyed})
    assert fields_to_keep(catalog, {})["run"] == {
        "createdBy.userObjectId", "createdBy.userName", "dataContainerId",  # a parent variable
        "properties.container"}


def test_where_paths_are_kept_on_their_own_kind_only() -> None:
    wanted = of(manifest(export=[select("model", where=where("tags.stage", "equals", "prod")
                                        + where("createdTime", "before", "2026-01-01"))]))
    assert wanted.fields["model"] == {"runId", "tags.stage", "createdTime"}
    assert wanted.fields["image"] == {"modelIds"}


def test_parents_are_listed_before_children_and_runs_before_their_siblings() -> None:
    order = top_down(CATALOG, ["artifact", "metric", "model", "run", "experiment"])
    assert [k.name for k in order] == ["experiment", "model", "run", "metric", "artifact"]


def shape(inv: Inventory) -> tuple[set[str], dict[str, set[str]]]:
    listed = {kind for _, kind in inv.items}
    looked_up: dict[str, set[str]] = {}
    for _, kind, item_id in inv.lookups:
        looked_up.setdefault(kind, set()).add(item_id)
    return listed, looked_up


def test_the_literal_scenarios_hold_what_the_walker_would_read() -> None:
    for m, inv in ((dsr_manifest(), dsr_inventory()),
                   (teardown_and_dsr_manifest(), two_workspaces_inventory())):
        wanted = of(m)
        listed, looked_up = shape(inv)
        assert listed == wanted.listed
        assert set(looked_up) == set(wanted.looked_up)
        for kind, ids in wanted.looked_up.items():
            assert ids <= looked_up[kind]
        for items in inv.items.values():
            for item in items:
                assert set(item.fields) <= wanted.fields[item.kind], item


def test_only_the_kinds_a_where_tests_are_described() -> None:
    # Their items' field names are kept to tell what a misspelt path could have been.
    wanted = of(manifest(export=[select("run", all=True),
                                 select("model", where=where("name", "glob", "churn-*"))],
                         delete=[select("asset", where=where("tags.x", "absent", True))]))
    assert wanted.described == {"model", "asset"}
    assert of(manifest(export=[select("run", all=True)])).described == frozenset()
