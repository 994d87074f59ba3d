"""The plan model: actions, the one sort order, addresses, summary, immutability."""

from __future__ import annotations

import dataclasses
import random

import pytest
from plan_factories import absent, delete, export, make_plan, manual, subject_changes, unchanged

from amlctl.plan import ACTION_ORDER, Action, change_sort_key
from amlctl.plan.model import phase_of


def test_actions_have_the_wire_strings_of_the_plan_file() -> None:
    assert [a.value for a in Action] == [
        "delete", "blocked", "candidate", "export", "absent", "unchanged", "manual"]
    assert ACTION_ORDER == (Action.DELETE, Action.BLOCKED, Action.CANDIDATE, Action.EXPORT,
                            Action.ABSENT, Action.UNCHANGED, Action.MANUAL)


def test_changes_are_sorted_by_workspace_action_kind_id_whatever_the_input_order() -> None:
    changes = [*subject_changes(), delete("run", "run-0001", ws="a-ws"), export("run", "r", ws="z")]
    shuffled = changes[:]
    random.Random(7).shuffle(shuffled)
    plan = make_plan(shuffled, workspaces=())
    keys = [(c.workspace, c.action.value, c.kind, c.id) for c in plan.changes]
    assert keys[0] == ("a-ws", "delete", "run", "run-0001")
    assert keys[-1] == ("z", "export", "run", "r")
    assert [k[1] for k in keys[1:-1]] == (
        ["delete"] * 3 + ["export"] * 4 + ["absent", "unchanged", "manual"]
    )
    assert keys[1:4] == [("demo-ws", "delete", "model", "churn-model:1"),
                         ("demo-ws", "delete", "run", "run-0001"),
                         ("demo-ws", "delete", "run", "run-0002")]
    assert plan.changes == make_plan(changes, workspaces=()).changes


def test_sort_key_puts_deletes_first_within_a_workspace() -> None:
    blocked = dataclasses.replace(delete("run", "b"), action=Action.BLOCKED)
    candidate = dataclasses.replace(delete("run", "c"), action=Action.CANDIDATE)
    ordered = sorted([manual("m"), unchanged("run", "a"), absent("run", "a"), candidate,
                      export("run", "a"), blocked, delete("run", "a")], key=change_sort_key)
    assert [c.action for c in ordered] == list(ACTION_ORDER)


def test_address_names_phase_workspace_kind_and_id() -> None:
    assert delete("model", "churn-model:1").address == "delete:demo-ws/model/churn-model:1"
    assert export("model", "churn-model:1").address == "export:demo-ws/model/churn-model:1"
    assert unchanged("run", "r1").address == "export:demo-ws/run/r1"
    assert absent("run", "r1", method="GET").address == "export:demo-ws/run/r1"
    assert absent("run", "r1").address == "delete:demo-ws/run/r1"
    assert manual("designer-drafts").address == "manual:demo-ws/pipeline_graph/designer-drafts"


def test_one_item_may_be_exported_and_deleted_in_one_plan() -> None:
    plan = make_plan([export("model", "m:1"), delete("model", "m:1")])
    assert [c.action for c in plan.changes] == [Action.DELETE, Action.EXPORT]


def test_an_id_absent_from_both_selections_keeps_a_stable_order() -> None:
    both = [absent("run", "gone", method="GET"), absent("run", "gone")]
    assert make_plan(both).changes == make_plan(both[::-1]).changes


def test_duplicate_addresses_are_refused() -> None:
    with pytest.raises(ValueError, match="delete:demo-ws/run/r1"):
        make_plan([delete("run", "r1"), delete("run", "r1", reason="again")])


def test_summary_counts_every_action_including_zeros() -> None:
    plan = make_plan(subject_changes())
    assert {a.value: n for a, n in plan.summary.items()} == {
        "delete": 3, "blocked": 0, "candidate": 0, "export": 4, "absent": 1, "unchanged": 1,
        "manual": 1}
    assert make_plan().summary == dict.fromkeys(ACTION_ORDER, 0)


def test_plan_and_changes_are_frozen() -> None:
    plan = make_plan(subject_changes())
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.name = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.changes[0].url = "https://elsewhere.example/"  # type: ignore[misc]
    plan.summary[Action.DELETE] = 99
    assert plan.summary[Action.DELETE] == 3


def test_phase_follows_the_method_except_for_manual_steps() -> None:
    assert phase_of(Action.MANUAL, None) == "manual"
    assert phase_of(Action.ABSENT, "DELETE") == "delete"
    assert phase_of(Action.ABSENT, "GET") == "export"
