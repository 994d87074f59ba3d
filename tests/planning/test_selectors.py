"""Selectors on literal items: ids, names, field conditions, all, and the data subject."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import pytest

from amlctl.catalog import load_catalog
from amlctl.inventory import Item
from amlctl.manifest import Request, Selector
from amlctl.planning.selectors import SubjectLinks, matches
from amlctl.subject import SubjectMatcher

from .inventory_factories import (
    BOB,
    BOB_OID,
    JANE,
    JANE_OID,
    artifact,
    asset,
    compute,
    experiment,
    metric,
    model,
    notification_task,
    run,
)
from .manifest_factories import request, select, where

CATALOG = load_catalog("azureml-2019-11-01")
EXP = experiment("churn")
JANE_RUN = run("run-jane", EXP, oid=JANE_OID, user=JANE)
BOB_RUN = run("run-bob", EXP, oid=BOB_OID, user=BOB)


def links(runs: Iterable[Item] = (JANE_RUN, BOB_RUN), req: Request | None = None
          ) -> SubjectLinks:
    """Her runs as the planner reads them from one workspace's run list."""
    return SubjectLinks(SubjectMatcher.for_request(req or request()), CATALOG, {"run": list(runs)})


def picked(selector: Selector, items: Iterable[Item], subject: SubjectLinks | None = None
           ) -> list[str]:
    """The ids of `items` the selector selects."""
    subject = subject or links()
    return [i.id for i in items if matches(selector, CATALOG.kind(i.kind), i, subject)]


MODELS = [model("churn-model:1"), model("churn-model:2"), model("Churn-Model:3"),
          model("fraud-model:1")]


def test_ids_select_exactly_the_named_items() -> None:
    assert picked(select("model", ids=("churn-model:2", "nope:1")), MODELS) == ["churn-model:2"]


def test_a_name_glob_is_case_sensitive() -> None:
    assert picked(select("model", name="churn-*"), MODELS) == ["churn-model:1", "churn-model:2"]


def test_ids_and_a_name_must_both_hold() -> None:
    selector = select("model", ids=("churn-model:1", "fraud-model:1"), name="fraud-*")
    assert picked(selector, MODELS) == ["fraud-model:1"]


def test_all_selects_every_item() -> None:
    assert picked(select("model", all=True), MODELS) == [m.id for m in MODELS]


def models_with(path: str, *values: object) -> list[Item]:
    """Models m0, m1, ... whose field `path` holds each value in turn."""
    return [model(f"m{i}").replace(fields={path: v}) for i, v in enumerate(values)]


def test_where_equals_compares_the_value() -> None:
    items = models_with("tags.stage", "prod", "dev", None, "Prod")
    assert picked(select("model", where=where("tags.stage", "equals", "prod")), items) == ["m0"]


def test_where_in_selects_any_listed_value() -> None:
    items = models_with("tags.stage", "prod", "dev", "test", None)
    assert picked(select("model", where=where("tags.stage", "in", ["dev", "test"])), items) == [
        "m1", "m2"]


def test_where_glob_matches_strings_only() -> None:
    items = models_with("tags.team", "ml-eu", "ml-us", "bi-eu", 7, None)
    assert picked(select("model", where=where("tags.team", "glob", "ml-*")), items) == ["m0", "m1"]


def test_where_regex_must_match_the_whole_value() -> None:
    items = models_with("tags.ticket", "JIRA-12", "JIRA-12-old", "xJIRA-12")
    assert picked(select("model", where=where("tags.ticket", "regex", r"JIRA-\d+")), items) == [
        "m0"]


def test_where_before_and_after_compare_moments_in_utc() -> None:
    items = models_with(
        "createdTime",
        "2025-12-31T23:59:59.9999999Z",  # Azure's seven fractional digits
        "2026-01-01T01:00:00+02:00",  # 2025-12-31T23:00Z
        "2026-01-01T00:00:00Z",  # the bound itself: neither before nor after
        "2026-01-02",
        "not a date",
        None,
    )
    assert picked(select("model", where=where("createdTime", "before", "2026-01-01")), items) == [
        "m0", "m1"]
    assert picked(select("model", where=where("createdTime", "after", "2026-01-01")), items) == [
        "m3"]


@pytest.mark.parametrize(
    ("test", "value", "selected"),
    [
        ("equals", 0, ["m2"]),
        ("equals", 1, ["m3"]),
        ("equals", False, ["m0"]),
        ("equals", True, ["m1"]),
        ("in", [0, 1], ["m2", "m3"]),
        ("in", [False], ["m0"]),
    ],
)
def test_a_boolean_never_equals_a_number(test: str, value: object, selected: list[str]) -> None:
    items = models_with("flags.archived", False, True, 0, 1)
    assert picked(select("model", where=where("flags.archived", test, value)), items) == selected


def test_every_where_condition_must_hold() -> None:
    items = [model(f"m{i}").replace(fields={"a": a, "b": b})
             for i, (a, b) in enumerate([("x", "y"), ("x", "z"), ("w", "y")])]
    conditions = where("a", "equals", "x") + where("b", "equals", "y")
    assert picked(select("model", where=conditions), items) == ["m0"]


RUNS = [
    JANE_RUN,
    BOB_RUN,
    run("run-namesake", EXP, oid=BOB_OID, user=JANE),  # another Jane Doe
    run("run-renamed", EXP, oid=JANE_OID, user="Jane Smith"),  # Jane, after she married
    run("run-upper", EXP, oid=JANE_OID.upper(), user=JANE),
    run("run-anon", EXP),
]


def test_the_subject_by_object_id_ignores_user_names() -> None:
    subject = links(RUNS, request(oid=JANE_OID, user=JANE))
    assert picked(select("run", subject=True), RUNS, subject) == [
        "run-jane", "run-renamed", "run-upper"]


def test_an_object_id_matches_in_any_case() -> None:
    subject = links(RUNS, request(oid=JANE_OID.upper(), user=None))
    assert picked(select("run", subject=True), RUNS, subject) == [
        "run-jane", "run-renamed", "run-upper"]


def test_the_subject_by_user_name_alone_takes_every_run_of_that_name() -> None:
    subject = links(RUNS, request(oid=None, user=JANE))
    assert picked(select("run", subject=True), RUNS, subject) == [
        "run-jane", "run-namesake", "run-upper"]


def test_a_namesake_with_another_object_id_is_never_selected() -> None:
    namesake = run("run-namesake", EXP, oid=BOB_OID, user=JANE)
    subject = links([namesake], request(oid=JANE_OID, user=JANE))
    assert picked(select("run", subject=True), [namesake], subject) == []
    assert picked(select("metric", subject=True), [metric("acc", namesake)], subject) == []


def test_metrics_of_her_runs_are_hers_and_no_others() -> None:
    metrics = [metric("jane-acc", JANE_RUN), metric("bob-acc", BOB_RUN),
               metric("jane-loss", JANE_RUN)]
    assert picked(select("metric", subject=True), metrics) == ["jane-acc", "jane-loss"]


def test_models_and_assets_of_her_runs_are_hers() -> None:
    items = [model("jane-model:1", "run-jane"), model("bob-model:1", "run-bob"),
             model("orphan:1"), asset("jane-asset", "run-jane"), asset("bob-asset", "run-bob")]
    assert picked(select("model", subject=True), items[:3]) == ["jane-model:1"]
    assert picked(select("asset", subject=True), items[3:]) == ["jane-asset"]


def test_artifacts_are_reached_by_data_container_not_run_id() -> None:
    moved = run("run-moved", EXP, oid=JANE_OID, user=JANE, container="dcid.elsewhere")
    hers = artifact("outputs/model.pkl", moved)
    assert hers.fields == {"container": "dcid.elsewhere"}
    # Containers named after her run's id, or as run containers usually are: not hers.
    by_run_id = artifact("by-run-id.txt", moved).replace(fields={"container": "run-moved"})
    by_usual_name = artifact("usual.txt", moved).replace(fields={"container": "dcid.run-moved"})
    theirs = artifact("outputs/bob.txt", BOB_RUN)
    subject = links([moved, BOB_RUN])
    items = [hers, by_run_id, by_usual_name, theirs]
    assert picked(select("artifact", subject=True), items, subject) == ["outputs/model.pkl"]


def test_notification_tasks_are_hers_by_their_creator() -> None:
    tasks = [notification_task("t-jane", oid=JANE_OID, user=JANE),
             notification_task("t-bob", oid=BOB_OID, user=BOB),
             notification_task("t-namesake", oid=BOB_OID, user=JANE)]
    assert picked(select("notification_task", subject=True), tasks) == ["t-jane"]


def test_another_persons_run_in_her_experiment_is_never_selected() -> None:
    assert BOB_RUN.parent == JANE_RUN.parent == "churn"
    assert picked(select("run", subject=True), [BOB_RUN, JANE_RUN]) == ["run-jane"]
    assert picked(select("metric", subject=True), [metric("bob-acc", BOB_RUN)]) == []
    assert picked(select("artifact", subject=True), [artifact("bob.txt", BOB_RUN)]) == []


def test_without_a_request_no_item_is_the_subjects() -> None:
    subject = SubjectLinks(None, CATALOG, {"run": [JANE_RUN]})
    items = [JANE_RUN, metric("acc", JANE_RUN), model("m:1", "run-jane")]
    assert [i.id for i in items if matches(select(i.kind, subject=True), CATALOG.kind(i.kind),
                                           i, subject)] == []


def test_a_kind_with_no_subject_link_is_never_the_subjects() -> None:
    assert picked(select("compute", subject=True), [compute("cpu-cluster")]) == []


def test_not_leaves_out_what_its_criteria_select_together() -> None:
    keep = select("model", ids=("churn-model:1", "fraud-model:1"), name="churn-*")
    selector = replace(select("model", all=True), exclude=keep)
    assert picked(selector, MODELS) == ["churn-model:2", "Churn-Model:3", "fraud-model:1"]
    assert selector.conditions == () and not selector.names_subject
    by_field = replace(select("model", all=True), exclude=select("model", where=where(
        "name", "equals", "churn-model")))
    assert by_field.exclude is not None and by_field.conditions == by_field.exclude.where
