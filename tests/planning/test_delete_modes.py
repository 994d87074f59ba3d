"""A delete mode the catalog offers (a workspace's purge) is chosen in the manifest, shown in
the plan (URL, erasure, reason) and never taken by default."""

from __future__ import annotations

from pathlib import Path

from amlctl.catalog import load_catalog
from amlctl.plan.model import Action
from amlctl.planning.planner import make_plan

from .inventory_factories import DEMO, inventory, workspace
from .manifest_factories import context, manifest, select

CATALOG = load_catalog(str(Path(__file__).parents[1] / "catalogs" / "references.yaml"))


def workspace_delete(mode: str | None) -> tuple[str, str | None, str]:
    selector = select("workspace", confirm=DEMO.name, mode=mode)
    plan = make_plan(
        manifest(delete=[selector], catalog="references"),
        CATALOG,
        inventory(workspace()),
        context(),
    )
    change = next(c for c in plan.changes if c.action is Action.DELETE)
    assert change.url is not None
    return change.url, change.erasure, change.reason


def test_the_default_delete_is_the_catalogs_soft_one() -> None:
    url, erasure, reason = workspace_delete(None)
    assert "forceToPurge" not in url and erasure == "soft"
    assert "purge" not in reason


def test_purge_is_chosen_in_the_manifest_and_shown() -> None:
    url, erasure, reason = workspace_delete("purge")
    assert url.endswith("?api-version=2026-07-01&forceToPurge=true")
    assert erasure == "irreversible"
    assert reason.endswith("; purge: purged at once, not recoverable")


def test_the_current_catalog_purges_a_workspace_only_when_asked() -> None:
    current = load_catalog("azureml-current")
    for mode, purged, erasure in ((None, False, "soft"), ("purge", True, "irreversible")):
        selector = select("workspace", confirm=DEMO.name, mode=mode)
        plan = make_plan(
            manifest(delete=[selector], catalog=current.name),
            current,
            inventory(workspace()),
            context(),
        )
        change = next(c for c in plan.changes if c.action is Action.DELETE)
        assert change.url is not None
        assert ("forceToPurge=true" in change.url) is purged
        assert change.erasure == erasure
