"""make_plan on literal inventories: the actions, calls and order of a whole plan."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

from amlctl.apply.export.paths import export_file
from amlctl.catalog import load_catalog
from amlctl.errors import LimitExceeded, ManifestError
from amlctl.manifest.load import load_manifest
from amlctl.plan import write_plan
from amlctl.plan.model import Action, Change, Plan, change_sort_key
from amlctl.plan.reading import StoredChanges
from amlctl.planning.graph import Planned, delete_order
from amlctl.planning.planner import Decided, decide, lay_out, make_plan

from .inventory_factories import (
    BOB_OID,
    DEMO,
    EU,
    SUB,
    experiment,
    fp,
    image,
    inventory,
    model,
    pipeline_graph,
    run,
    workspace,
)
from .inventory_factories import (
    compute as compute_item,
)
from .manifest_factories import context, manifest, request, select, where
from .scenarios import (
    BOB_RUN,
    EXP,
    IMAGE,
    JANE_RUN,
    MODEL,
    SERVICE,
    dsr_inventory,
    dsr_manifest,
)

CATALOG = load_catalog("azureml-2019-11-01")
MMS = (f"https://eastus.modelmanagement.azureml.net/api/subscriptions/{SUB}/resourceGroups/"
       "demo-rg/providers/Microsoft.MachineLearningServices/workspaces/demo-ws")


def actions(plan: Plan) -> set[tuple[str, str, str]]:
    return {(c.action.value, c.kind, c.id) for c in plan.changes}


def by_address(plan: Plan) -> dict[str, Change]:
    return {c.address: c for c in plan.changes}


def test_a_subject_request_plans_her_items_and_only_hers() -> None:
    plan = make_plan(dsr_manifest(), CATALOG, dsr_inventory(), context())
    assert actions(plan) == {
        ("export", "run", "run-jane"),
        ("export", "metric", "jane-acc"),
        ("export", "artifact", "outputs/model.pkl"),
        ("export", "model", "churn-model:1"),
        ("export", "asset", "churn-asset"),
        ("export", "notification_task", "t-jane"),
        ("delete", "service", "churn-svc"),
        ("delete", "image", "churn-img:1"),
        ("delete", "model", "churn-model:1"),
        ("delete", "asset", "churn-asset"),
        ("absent", "service", "gone-svc"),
        ("manual", "manual", "designer-data-download"),
        ("manual", "manual", "designer-pipeline-drafts"),
        ("manual", "manual", "designer-datasets"),
    }


def test_a_plan_keeps_its_changes_on_disk_in_plan_order_and_writes_what_a_tuple_would(
    tmp_path: Path,
) -> None:
    plan = make_plan(dsr_manifest(), CATALOG, dsr_inventory(), context())
    assert isinstance(plan.changes, StoredChanges)  # a big plan's changes are not in the heap
    held = tuple(plan.changes)
    assert list(held) == sorted(held, key=change_sort_key)
    in_memory = replace(plan, changes=tuple(reversed(held)))  # sorted again by Plan
    assert in_memory.changes == held and in_memory == plan
    assert in_memory.summary == plan.summary
    write_plan(plan, tmp_path / "stored.json")
    write_plan(in_memory, tmp_path / "tuple.json")
    assert (tmp_path / "stored.json").read_bytes() == (tmp_path / "tuple.json").read_bytes()


def test_an_item_two_selectors_pick_is_one_change_from_the_first_of_them() -> None:
    named = select("model", ids=("churn-model:1", "gone-model"))
    picking = manifest(export=[named, select("model", all=True), named])
    plan = make_plan(picking, CATALOG, dsr_inventory(), context())
    changes = by_address(plan)
    assert len(plan.changes) == len(changes)  # one change per address
    picked = changes["export:demo-ws/model/churn-model:1"]
    assert picked.action is Action.EXPORT and picked.reason.startswith("export.select[0]:")
    assert changes["export:demo-ws/model/bob-model:1"].reason.startswith("export.select[1]:")
    # an absent named id (a change made at once) and an export (made later) share one index
    assert changes["export:demo-ws/model/gone-model"].action is Action.ABSENT


def test_two_changes_of_one_address_are_refused_naming_it() -> None:
    manifest_ = dsr_manifest()
    decided = decide(manifest_, CATALOG, dsr_inventory(), context())
    change = next(c for c in decided.changes if isinstance(c, Change) and c.kind == "service")
    again = replace(change, action=Action.BLOCKED, reason="the same address, once more")
    assert again.address == change.address
    twice = Decided([*decided.changes, again], decided.warnings)
    with pytest.raises(ValueError, match=f"duplicate change addresses: {change.address}$"):
        lay_out(manifest_, CATALOG, context(), twice)


def test_deletes_call_delete_and_exports_call_get_as_the_catalog_says() -> None:
    plan = make_plan(dsr_manifest(), CATALOG, dsr_inventory(), context())
    methods = {(c.action, c.method) for c in plan.changes if c.action is not Action.MANUAL}
    assert methods == {(Action.DELETE, "DELETE"), (Action.EXPORT, "GET"), (Action.ABSENT, "DELETE")}
    changes = by_address(plan)
    assert changes["delete:demo-ws/model/churn-model:1"].url == (
        f"{MMS}/models/churn-model:1?api-version=2018-11-19")
    assert changes["export:demo-ws/model/churn-model:1"].url == (
        f"{MMS}/models/churn-model:1?api-version=2018-11-19")


def test_an_export_of_a_kind_without_get_reads_its_list() -> None:
    plan = make_plan(dsr_manifest(), CATALOG, dsr_inventory(), context())
    change = by_address(plan)["export:demo-ws/artifact/outputs/model.pkl"]
    assert change.url is not None
    assert change.url.endswith("/artifacts/origins/ExperimentRun/containers/dcid.run-jane")
    assert change.file == export_file("demo-ws", "artifact", "outputs/model.pkl")


def test_every_delete_waits_as_the_graph_orders_it() -> None:
    inv = dsr_inventory()
    plan = make_plan(dsr_manifest(), CATALOG, inv, context())
    deletes = [c for c in plan.changes if c.action is Action.DELETE]
    known = [*(i for listed in inv.items.values() for i in listed), *inv.lookups.values()]
    items = {(i.kind, i.id): i for i in known if i is not None}
    graph = delete_order(CATALOG, inv, [Planned(c.address, items[(c.kind, c.id)])
                                        for c in deletes])
    assert {c.address: c.after for c in deletes} == graph
    assert graph == {
        "delete:demo-ws/service/churn-svc": (),
        "delete:demo-ws/image/churn-img:1": ("delete:demo-ws/service/churn-svc",),
        "delete:demo-ws/model/churn-model:1": ("delete:demo-ws/image/churn-img:1",),
        "delete:demo-ws/asset/churn-asset": (),
    }


def test_exports_are_new_changed_or_unchanged_by_the_export_index() -> None:
    index = {
        "export:demo-ws/run/run-jane": JANE_RUN.fingerprint,  # exported as it is now
        "export:demo-ws/model/churn-model:1": fp("an older version"),
    }
    plan = make_plan(dsr_manifest(), CATALOG, dsr_inventory(), context(index))
    changes = by_address(plan)
    assert changes["export:demo-ws/run/run-jane"].action is Action.UNCHANGED
    assert changes["export:demo-ws/run/run-jane"].export_state is None
    assert changes["export:demo-ws/model/churn-model:1"].export_state == "changed"
    assert changes["export:demo-ws/metric/jane-acc"].export_state == "new"
    assert plan.summary[Action.UNCHANGED] == 1


def test_named_ids_not_found_are_absent_in_their_phase() -> None:
    both = select("model", ids=("churn-model:9",))
    plan = make_plan(manifest(export=[both], delete=[both]), CATALOG,
                     inventory(looked_up=[MODEL], missing=[(DEMO, "model", "churn-model:9")]),
                     context())
    absent = {c.address: (c.method, c.reason) for c in plan.changes if c.action is Action.ABSENT}
    assert absent == {
        "export:demo-ws/model/churn-model:9": ("GET", "export.select[0]: explicit id not found"),
        "delete:demo-ws/model/churn-model:9": ("DELETE", "delete.select[0]: explicit id not found"),
    }


def test_kinds_read_by_id_alone_come_from_the_lookups() -> None:
    plan = make_plan(manifest(export=[select("pipeline_graph", ids=("g-1", "g-2"))]), CATALOG,
                     inventory(looked_up=[pipeline_graph("g-1")],
                               missing=[(DEMO, "pipeline_graph", "g-2")]), context())
    assert actions(plan) - {("manual", "manual", "designer-data-download")} == {
        ("export", "pipeline_graph", "g-1"), ("absent", "pipeline_graph", "g-2")}
    url = by_address(plan)["export:demo-ws/pipeline_graph/g-1"].url
    assert url is not None and url.endswith("/workspaces/demo-ws/Graphs/g-1")


def test_manual_steps_follow_the_sections_a_manifest_has() -> None:
    export_only = make_plan(manifest(export=[select("model", all=True)]), CATALOG,
                            inventory(listed=[(DEMO, "model")]), context())
    delete_only = make_plan(manifest(delete=[select("model", all=True)]), CATALOG,
                            inventory(listed=[(DEMO, "model")]), context())
    assert [c.id for c in export_only.changes] == ["designer-data-download"]
    assert [c.id for c in delete_only.changes] == ["designer-datasets", "designer-pipeline-drafts"]
    assert all(c.method is None and c.url is None for c in delete_only.changes)


def test_a_workspace_teardown_deletes_the_workspace_last_and_warns() -> None:
    inv = inventory(workspace(), MODEL, IMAGE, SERVICE)
    plan = make_plan(manifest(delete=[select("workspace", confirm="demo-ws"),
                                      select("service", all=True), select("image", all=True),
                                      select("model", all=True)]),
                     CATALOG, inv, context())
    ws = by_address(plan)["delete:demo-ws/workspace/demo-ws"]
    assert ws.method == "DELETE" and ws.long_running
    assert ws.after == ("delete:demo-ws/image/churn-img:1", "delete:demo-ws/model/churn-model:1",
                        "delete:demo-ws/service/churn-svc")
    assert plan.summary[Action.DELETE] == 4 and plan.summary[Action.BLOCKED] == 0
    assert plan.catalog.scope_kind == "workspace"
    assert plan.warnings == ("this plan deletes the whole workspace demo-ws and everything in it",)


FRAUD_MODEL = model("fraud-model:1")
FRAUD_IMAGE = image("fraud-img:1", ["fraud-model:1"])


def blocked_changes(plan: Plan) -> dict[str, tuple[tuple[str, ...], str]]:
    return {c.address: (c.after, c.reason) for c in plan.changes if c.action is Action.BLOCKED}


def test_a_delete_whose_user_the_plan_keeps_is_blocked_with_the_selector_to_add() -> None:
    inv = inventory(workspace(), MODEL, FRAUD_MODEL, IMAGE, FRAUD_IMAGE)
    plan = make_plan(manifest(delete=[select("workspace", confirm="demo-ws"),
                                      select("image", ids=("churn-img:1",)),
                                      select("model", all=True)]),
                     CATALOG, inv, context())
    assert blocked_changes(plan) == {"delete:demo-ws/model/fraud-model:1": ((), (
        "used by image fraud-img:1, which this plan keeps; to delete it too, add "
        '{kind: image, ids: ["fraud-img:1"]} to delete.select'))}
    changes = by_address(plan)
    fraud = changes["delete:demo-ws/model/fraud-model:1"]
    # Still the delete it would be: its phase, call and fingerprint, for the receipt.
    assert (fraud.phase, fraud.method, fraud.fingerprint) == ("delete", "DELETE",
                                                              FRAUD_MODEL.fingerprint)
    assert fraud.url == f"{MMS}/models/fraud-model:1?api-version=2018-11-19"
    # The other deletes wait as before, but for no blocked delete.
    assert {c.address: c.after for c in plan.changes if c.action is Action.DELETE} == {
        "delete:demo-ws/image/churn-img:1": (),
        "delete:demo-ws/model/churn-model:1": ("delete:demo-ws/image/churn-img:1",),
        "delete:demo-ws/workspace/demo-ws": ("delete:demo-ws/image/churn-img:1",
                                             "delete:demo-ws/model/churn-model:1"),
    }
    assert plan.summary[Action.DELETE] == 3 and plan.summary[Action.BLOCKED] == 1


def test_a_blocked_reason_names_every_kept_user_and_sorts_the_selector_ids() -> None:
    later = image("later-img:1", ["churn-model:1"])
    earlier = image("earlier-img:1", ["churn-model:1"])
    inv = inventory(MODEL, later, IMAGE, earlier)
    plan = make_plan(manifest(delete=[select("model", all=True),
                                      select("image", ids=("churn-img:1",))]),
                     CATALOG, inv, context())
    assert blocked_changes(plan) == {"delete:demo-ws/model/churn-model:1": ((), (
        "used by image later-img:1, image earlier-img:1, which this plan keeps; to delete it "
        'too, add {kind: image, ids: ["earlier-img:1", "later-img:1"]} to delete.select'))}
    assert by_address(plan)["delete:demo-ws/image/churn-img:1"].action is Action.DELETE


def test_a_kept_service_blocks_its_image_and_the_model_in_it() -> None:
    inv = inventory(workspace(), MODEL, IMAGE, SERVICE, FRAUD_MODEL)
    plan = make_plan(manifest(delete=[select("model", all=True), select("image", all=True),
                                      select("workspace", confirm="demo-ws")]),
                     CATALOG, inv, context())
    assert blocked_changes(plan) == {
        "delete:demo-ws/image/churn-img:1": ((), (
            "used by service churn-svc, which this plan keeps; to delete it too, add "
            '{kind: service, ids: ["churn-svc"]} to delete.select')),
        "delete:demo-ws/model/churn-model:1": (
            (), "used by image churn-img:1, whose delete is blocked too"),
    }
    assert {c.address: c.after for c in plan.changes if c.action is Action.DELETE} == {
        "delete:demo-ws/model/fraud-model:1": (),
        "delete:demo-ws/workspace/demo-ws": ("delete:demo-ws/model/fraud-model:1",),
    }
    assert plan.summary[Action.DELETE] == 2 and plan.summary[Action.BLOCKED] == 2
    # Blocked deletes are listed right after the deletes, before everything else.
    assert [c.action for c in plan.changes][:4] == [Action.DELETE] * 2 + [Action.BLOCKED] * 2


def test_blocked_deletes_are_not_counted_against_max_deletes() -> None:
    inv = inventory(MODEL, FRAUD_MODEL, FRAUD_IMAGE)
    plan = make_plan(manifest(delete=[select("model", all=True)], max_deletes=1), CATALOG, inv,
                     context())
    assert plan.summary[Action.DELETE] == plan.summary[Action.BLOCKED] == 1


def test_nothing_is_blocked_when_the_plan_deletes_every_user() -> None:
    inv = inventory(MODEL, IMAGE, SERVICE)
    plan = make_plan(manifest(delete=[select("model", all=True), select("image", all=True),
                                      select("service", ids=("churn-svc",))]),
                     CATALOG, inv, context())
    assert plan.summary[Action.BLOCKED] == 0
    assert {c.address: c.after for c in plan.changes if c.action is Action.DELETE} == {
        "delete:demo-ws/service/churn-svc": (),
        "delete:demo-ws/image/churn-img:1": ("delete:demo-ws/service/churn-svc",),
        "delete:demo-ws/model/churn-model:1": ("delete:demo-ws/image/churn-img:1",),
    }


def test_a_workspace_is_deleted_only_where_confirm_names_it() -> None:
    inv = inventory(workspace(), workspace(EU))
    plan = make_plan(manifest(delete=[select("workspace", confirm="demo-ws-eu")],
                              workspaces=(DEMO, EU)), CATALOG, inv, context())
    assert [c.address for c in plan.changes if c.action is Action.DELETE] == [
        "delete:demo-ws-eu/workspace/demo-ws-eu"]


def test_a_confirmed_workspace_that_is_gone_is_absent() -> None:
    plan = make_plan(manifest(delete=[select("workspace", confirm="demo-ws")]), CATALOG,
                     inventory(missing=[(DEMO, "workspace", "demo-ws")]), context())
    absent = [c for c in plan.changes if c.action is Action.ABSENT]
    assert [(c.address, c.reason) for c in absent] == [
        ("delete:demo-ws/workspace/demo-ws", "delete.select[0]: workspace not found")]
    assert plan.warnings == ()


def test_her_runs_in_one_workspace_reach_nothing_in_another() -> None:
    eu_exp = experiment("churn", EU)
    inv = inventory(EXP, JANE_RUN, eu_exp, run("run-bob-eu", eu_exp, oid=BOB_OID),
                    MODEL, model("eu-model:1", "run-jane", EU))  # an EU model naming her run id
    plan = make_plan(manifest(delete=[select("model", subject=True)], request=request(),
                              workspaces=(DEMO, EU)), CATALOG, inv, context())
    assert [c.address for c in plan.changes if c.action is Action.DELETE] == [
        "delete:demo-ws/model/churn-model:1"]


def test_more_deletes_than_max_deletes_is_refused() -> None:
    inv = inventory(MODEL, model("fraud-model:1"))
    ok = make_plan(manifest(delete=[select("model", all=True)], max_deletes=2), CATALOG, inv,
                   context())
    assert ok.summary[Action.DELETE] == 2
    with pytest.raises(LimitExceeded, match=r"would delete 2 items, more than limits.maxDeletes"):
        make_plan(manifest(delete=[select("model", all=True)], max_deletes=1), CATALOG, inv,
                  context())


def test_a_request_due_soon_is_warned_of() -> None:
    soon = request(due=dt.date(2026, 11, 25))
    plan = make_plan(manifest(export=[select("run", subject=True)], request=soon), CATALOG,
                     inventory(EXP, JANE_RUN), context())
    assert due_warnings(plan) == ["request DSR-2026-0042 is due on 2026-11-25 (in 3 days)"]
    assert plan.request is not None and plan.request.pseudonym.startswith("subject-")


@pytest.mark.parametrize(("due", "said"), [
    (dt.date(2026, 11, 29), "is due on 2026-11-29 (in 7 days)"),
    (dt.date(2026, 11, 23), "is due on 2026-11-23 (in 1 day)"),
    (dt.date(2026, 11, 21), "was due on 2026-11-21 (1 day ago)"),
    (dt.date(2026, 11, 19), "was due on 2026-11-19 (3 days ago)"),
])
def test_a_due_date_is_said_in_days_singular_or_plural(due: dt.date, said: str) -> None:
    late = replace(request(due=due), received=dt.date(2026, 11, 1))
    plan = make_plan(manifest(export=[select("run", subject=True)], request=late), CATALOG,
                     inventory(EXP, JANE_RUN), context())
    assert due_warnings(plan) == [f"request DSR-2026-0042 {said}"]


def test_a_request_due_in_more_than_a_week_is_not_warned_of() -> None:
    later = request(due=dt.date(2026, 11, 30))
    plan = make_plan(manifest(export=[select("run", subject=True)], request=later), CATALOG,
                     inventory(EXP, JANE_RUN), context())
    assert due_warnings(plan) == []


def due_warnings(plan: Plan) -> list[str]:
    return [w for w in plan.warnings if w.startswith("request ")]


def test_a_request_due_today_says_so() -> None:
    today = replace(request(due=dt.date(2026, 11, 22)), received=dt.date(2026, 11, 1))
    plan = make_plan(manifest(export=[select("run", subject=True)], request=today), CATALOG,
                     inventory(EXP, JANE_RUN), context())
    assert due_warnings(plan) == ["request DSR-2026-0042 is due today (2026-11-22)"]


def test_a_selector_that_picks_nothing_is_said_aloud_with_what_was_read() -> None:
    inv = inventory(MODEL)
    inv.gone = [("demo-ws-eu", "notification_task")]
    plan = make_plan(
        manifest(export=[select("notification_task", subject=True), select("model", all=True)],
                 workspaces=(DEMO, EU), request=request()),
        CATALOG, inv, context())
    assert "export.select[0]: no notification_task of the data subject found in demo-ws" in (
        plan.warnings)
    assert ("export.select[0]: notification_task not read in demo-ws-eu (its list answered "
            "404), so nothing is known of it there") in plan.warnings
    assert not [w for w in plan.warnings if w.startswith("export.select[1]")]  # it found one


def test_a_subject_plan_says_what_the_catalog_cannot_erase() -> None:
    plan = make_plan(manifest(export=[select("run", subject=True)], request=request()),
                     CATALOG, inventory(EXP, JANE_RUN), context())
    erase = [w for w in plan.warnings if "not erasable" in w]
    assert len(erase) == 1 and erase[0].startswith(
        "run: not erasable with catalog azureml-2019-11-01: the article's API cannot delete a run")
    teardown = make_plan(manifest(export=[select("run", all=True)]), CATALOG,
                         inventory(EXP, JANE_RUN), context())
    assert not [w for w in teardown.warnings if "not erasable" in w]  # not a subject request


def test_lists_that_answered_404_are_warned_of() -> None:
    inv = inventory(MODEL)
    inv.gone = [("demo-ws-eu", "model")]
    plan = make_plan(manifest(export=[select("model", all=True)], workspaces=(DEMO, EU)),
                     CATALOG, inv, context())
    assert plan.warnings == (
        "demo-ws-eu: listing model answered 404 Not Found (is the workspace gone?); "
        "nothing of those kinds is in this plan",)


def test_a_named_id_that_exists_but_is_not_selected_is_not_absent() -> None:
    # Bob's model exists: the subject criterion leaves it out, it is not "not found".
    bobs = model("bob-model:1", "run-bob")
    plan = make_plan(
        manifest(delete=[select("model", ids=("churn-model:1", "bob-model:1", "gone:1"),
                                subject=True)],
                 request=request()),
        CATALOG, inventory(EXP, JANE_RUN, BOB_RUN, MODEL, bobs), context())
    assert {(c.action, c.id) for c in plan.changes if c.kind == "model"} == {
        (Action.DELETE, "churn-model:1"), (Action.ABSENT, "gone:1")}


def test_a_named_id_left_out_by_name_or_where_is_not_absent() -> None:
    prod = model("churn-model:2").replace(fields={"runId": None, "tags.stage": "prod"})
    inv = inventory(MODEL, prod, FRAUD_MODEL)
    plan = make_plan(manifest(
        export=[select("model", ids=("churn-model:1", "fraud-model:1", "nope:1"),
                       name="churn-*")],
        delete=[select("model", ids=("churn-model:1", "churn-model:2"),
                       where=where("tags.stage", "equals", "prod"))],
    ), CATALOG, inv, context())
    assert {(c.address, c.action, c.reason) for c in plan.changes if c.kind == "model"} == {
        ("export:demo-ws/model/churn-model:1", Action.EXPORT,
         "export.select[0]: listed id, name churn-*"),
        ("export:demo-ws/model/nope:1", Action.ABSENT, "export.select[0]: explicit id not found"),
        ("delete:demo-ws/model/churn-model:2", Action.DELETE,
         'delete.select[0]: listed id, tags.stage equals "prod"'),
    }


TWO_OF_ONE_NAME = """\
version: 1
name: two-of-one-name
catalog: azureml-2019-11-01
workspaces:
  - {subscriptionId: 6a3c9f1e-2b4d-4c8a-9e1f-0123456789ab, resourceGroup: rg-a,
     workspace: demo-ws, location: eastus}
  - {subscriptionId: 6a3c9f1e-2b4d-4c8a-9e1f-0123456789ab, resourceGroup: rg-b,
     workspace: demo-ws, location: eastus}
delete:
  select:
    - {kind: model, all: true}
"""


def test_two_workspaces_of_one_name_are_refused(tmp_path: Path) -> None:
    # Items, the inventory's keys and change addresses know a workspace by its name alone, so
    # two of one name in two resource groups would be planned as one.
    path = tmp_path / "two.yaml"
    path.write_text(TWO_OF_ONE_NAME)
    with pytest.raises(ManifestError) as refused:
        load_manifest(path)
    assert [(d.line, d.path) for d in refused.value.diagnostics] == [
        (8, "$.workspaces[1].workspace")]
    assert "workspace name 'demo-ws' is used twice (workspaces[0] and workspaces[1])" in str(
        refused.value)


def test_two_workspaces_of_two_names_are_planned_apart(tmp_path: Path) -> None:
    path = tmp_path / "two.yaml"
    path.write_text(TWO_OF_ONE_NAME.replace("rg-b,\n     workspace: demo-ws,",
                                            "rg-b,\n     workspace: demo-ws-b,"))
    loaded, _ = load_manifest(path)
    a, b = loaded.workspaces
    inv = inventory(model("churn-model:1", ws=a), model("churn-model:1", ws=b))
    plan = make_plan(loaded, CATALOG, inv, context())
    assert {(c.address, c.url) for c in plan.changes if c.action is Action.DELETE} == {
        (f"delete:{ws.name}/model/churn-model:1",
         f"https://eastus.modelmanagement.azureml.net/api/subscriptions/{SUB}/resourceGroups/"
         f"{ws.resource_group}/providers/Microsoft.MachineLearningServices/workspaces/"
         f"{ws.name}/models/churn-model:1?api-version=2018-11-19")
        for ws in (a, b)}
    assert (a.resource_group, b.resource_group) == ("rg-a", "rg-b")


def test_an_export_is_unchanged_when_only_fields_outside_its_version_differ() -> None:
    compute = CATALOG.kind("compute")
    listed = {"id": "/c/cpu", "name": "cpu", "properties": {"modifiedOn": "2026-11-01"}}
    got = {**listed, "properties": {"modifiedOn": "2026-11-01", "createdOn": "2026-10-01",
                                    "nodeCount": 3}}
    item = compute_item("cpu").replace(fingerprint=compute.fingerprint(listed))
    index = {"export:demo-ws/compute/cpu": compute.fingerprint(got)}
    plan = make_plan(manifest(export=[select("compute", all=True)]), CATALOG, inventory(item),
                     context(index))
    assert by_address(plan)["export:demo-ws/compute/cpu"].action is Action.UNCHANGED
    newer = {**got, "properties": {"modifiedOn": "2026-11-21"}}
    index = {"export:demo-ws/compute/cpu": compute.fingerprint(newer)}
    plan = make_plan(manifest(export=[select("compute", all=True)]), CATALOG, inventory(item),
                     context(index))
    assert by_address(plan)["export:demo-ws/compute/cpu"].export_state == "changed"


def test_a_kind_with_an_etag_is_fingerprinted_by_it() -> None:
    body = {"artifactId": "outputs/x.txt", "etag": '"0x8D1"', "contentUri": "https://sas"}
    assert CATALOG.kind("artifact").fingerprint(body) == 'etag:"0x8D1"'
    assert CATALOG.kind("workspace").fingerprint({"name": "demo-ws"}).startswith("sha256:")
