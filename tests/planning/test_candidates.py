"""Display names are not unique: where a kind names its creator only by one, an item created
under one of the subject's names is a candidate, shown for review and left alone unless the
selector accepts such matches (`byDisplayName: true`)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from amlctl.catalog import load_catalog
from amlctl.manifest import Request
from amlctl.manifest.model import Subject
from amlctl.plan.model import Action, Plan
from amlctl.planning.planner import make_plan

from .inventory_factories import DEMO, JANE, JANE_OID, _top, inventory, workspace
from .manifest_factories import context, manifest, request, select

CATALOG = load_catalog(str(Path(__file__).parents[1] / "catalogs" / "references.yaml"))


def version(name: str, by: str, by_type: str = "User") -> Any:
    fields = {"systemData.createdBy": by, "systemData.createdByType": by_type, "id": f"v/{name}"}
    return _top(DEMO, "model_version", name, "version", fields)


def plan_of(*selectors: Any, subject: Request | None = None, delete: bool = True) -> Plan:
    items = inventory(
        workspace(),
        version("1", JANE),
        version("2", "Jane Doe (Contoso)"),  # one of her other names
        version("3", "Bob Roe"),
        version("4", JANE, by_type="Application"),  # an app named like her is never her
    )
    found = manifest(
        delete=selectors if delete else (),
        export=() if delete else selectors,
        request=subject or request(),
        catalog="references",
    )
    return make_plan(found, CATALOG, items, context())


def actions(plan: Plan) -> dict[str, Action]:
    return {c.id: c.action for c in plan.changes if c.kind == "model_version"}


def test_display_name_matches_are_candidates_never_acted_on() -> None:
    plan = plan_of(select("model_version", subject=True))
    assert actions(plan) == {"1": Action.CANDIDATE}
    change = next(c for c in plan.changes if c.id == "1")
    assert change.method == "DELETE" and change.address == "delete:demo-ws/model_version/1"
    assert "a display name only (not unique)" in change.reason
    assert "add byDisplayName: true to delete.select[0]" in change.reason
    assert plan.summary[Action.DELETE] == 0 and plan.summary[Action.CANDIDATE] == 1


def test_every_name_she_had_counts_and_an_application_never_does() -> None:
    names = Request("DSR-1", request().received, request().due,
                    Subject(JANE_OID, JANE, ("Jane Doe (Contoso)",)))
    plan = plan_of(select("model_version", subject=True), subject=names)
    assert actions(plan) == {"1": Action.CANDIDATE, "2": Action.CANDIDATE}


def test_by_display_name_acts_on_them_and_says_so() -> None:
    plan = plan_of(select("model_version", subject=True, by_display_name=True))
    assert actions(plan) == {"1": Action.DELETE}
    assert "a display-name match, reviewed" in next(c for c in plan.changes if c.id == "1").reason


def test_an_export_candidate_writes_no_file() -> None:
    plan = plan_of(select("model_version", subject=True), delete=False)
    change = next(c for c in plan.changes if c.id == "1")
    assert (change.action, change.method, change.file) == (Action.CANDIDATE, "GET", None)
    assert change.address == "export:demo-ws/model_version/1"


@pytest.mark.parametrize("criteria", [{"ids": ("3",)}, {"name": "3"}])
def test_the_other_criteria_still_hold_for_candidates(criteria: dict[str, Any]) -> None:
    plan = plan_of(replace(select("model_version", subject=True), **criteria))
    assert Action.CANDIDATE not in actions(plan).values()
