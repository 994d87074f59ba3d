"""The planner knows kinds only from the catalog: rename every kind, and nothing else changes.

The built-in 2019-11-01 catalog is rebuilt with every kind, and every reference to a kind
(`parent`, `uses`, `subject.via`), renamed: once with a prefix, once by handing each kind the
name of another (the workspace is called `artifact`, runs `service`, ...), so code that knows
a kind by its name would act on the wrong items. From the renamed inventory and manifest the
planner must give the same plan, kind names aside.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace

import pytest

from amlctl.apply.export.paths import export_file
from amlctl.catalog import Catalog, Kind, load_catalog
from amlctl.inventory import Inventory, Item
from amlctl.manifest import Manifest
from amlctl.plan.model import Action, Change, Plan
from amlctl.planning.planner import make_plan

from .manifest_factories import context
from .scenarios import JANE_RUN, teardown_and_dsr_manifest, two_workspaces_inventory

CATALOG = load_catalog("azureml-2019-11-01")
Rename = Callable[[str], str]


def rotated(catalog: Catalog) -> dict[str, str]:
    """Each kind gets the name of the next one, in sorted order."""
    names = sorted(catalog.kinds)
    return {name: names[(i + 1) % len(names)] for i, name in enumerate(names)}


RENAMINGS: dict[str, Mapping[str, str]] = {
    "prefixed": {name: f"thing_{name}" for name in CATALOG.kinds},
    "rotated": rotated(CATALOG),
}


def renamed_kind(kind: Kind, to: Rename) -> Kind:
    subject = kind.subject
    if subject is not None and subject.via is not None:
        subject = replace(subject, via=to(subject.via))
    return replace(
        kind,
        name=to(kind.name),
        parent=to(kind.parent) if kind.parent else None,
        uses=tuple(replace(use, kind=to(use.kind)) for use in kind.uses),
        subject=subject,
        operations={name: replace(op, kind=to(op.kind)) for name, op in kind.operations.items()},
    )


def renamed_catalog(catalog: Catalog, to: Rename) -> Catalog:
    kinds = {to(name): renamed_kind(kind, to) for name, kind in catalog.kinds.items()}
    return replace(catalog, name=f"{catalog.name}-renamed", kinds=kinds)


def renamed_inventory(inv: Inventory, to: Rename) -> Inventory:
    def item(i: Item) -> Item:
        return i.replace(kind=to(i.kind))

    return Inventory(
        items={(ws, to(kind)): [item(i) for i in items] for (ws, kind), items in inv.items.items()},
        lookups={(ws, to(kind), i): (item(found) if found else None)
                 for (ws, kind, i), found in inv.lookups.items()},
        gone=[(ws, to(kind)) for ws, kind in inv.gone],
    )


def renamed_manifest(manifest: Manifest, to: Rename) -> Manifest:
    return replace(
        manifest,
        export=tuple(replace(s, kind=to(s.kind)) for s in manifest.export),
        delete=tuple(replace(s, kind=to(s.kind)) for s in manifest.delete),
    )


def renamed_address(address: str, to: Rename) -> str:
    phase, rest = address.split(":", 1)
    ws, kind, item_id = rest.split("/", 2)
    return f"{phase}:{ws}/{to(kind)}/{item_id}"


BLOCKED_REASON = re.compile(
    r"used by (?P<users>.+?), (?P<why>which this plan keeps|whose delete is blocked too)"
    r"(?P<rest>.*)")


def original_reason(change: Change, back: Rename) -> str:
    """A blocked delete's reason names its users' kinds (and the selector that would add them):
    put the original names back. Other reasons name no kind."""
    if change.action is not Action.BLOCKED:
        return change.reason
    found = BLOCKED_REASON.fullmatch(change.reason)
    assert found is not None, change.reason
    users = ", ".join(f"{back(kind)} {item_id}" for kind, item_id in
                      (user.split(" ", 1) for user in found["users"].split(", ")))
    rest = re.sub(r"\{kind: (\S+), ids:", lambda m: f"{{kind: {back(m[1])}, ids:", found["rest"])
    return f"used by {users}, {found['why']}{rest}"


def as_original(change: Change, back: Rename) -> Change:
    """A change of the renamed plan with the original kind names put back."""
    kind = change.kind if change.action is Action.MANUAL else back(change.kind)
    if change.file is not None:
        assert change.file == export_file(change.workspace, change.kind, change.id)
    return replace(
        change,
        kind=kind,
        after=tuple(sorted(renamed_address(a, back) for a in change.after)),
        file=export_file(change.workspace, kind, change.id) if change.file else None,
        reason=original_reason(change, back),
    )


def plans(renaming: Mapping[str, str]) -> tuple[Plan, Plan]:
    """The plan from the original catalog, and the one from the renamed catalog."""
    index = {"export:demo-ws/run/run-jane": JANE_RUN.fingerprint,  # one unchanged export
             "export:demo-ws-eu/model/churn-eu:1": "etag:old"}  # one changed
    original = make_plan(teardown_and_dsr_manifest(), CATALOG, two_workspaces_inventory(),
                         context(index))
    to = renaming.__getitem__
    renamed = make_plan(
        renamed_manifest(teardown_and_dsr_manifest(), to),
        renamed_catalog(CATALOG, to),
        renamed_inventory(two_workspaces_inventory(), to),
        context({renamed_address(a, to): f for a, f in index.items()}),
    )
    return original, renamed


@pytest.fixture(params=sorted(RENAMINGS))
def renaming(request: pytest.FixtureRequest) -> Mapping[str, str]:
    value: Mapping[str, str] = RENAMINGS[request.param]
    return value


def test_the_scenario_touches_every_action_and_waits(renaming: Mapping[str, str]) -> None:
    original, _ = plans(renaming)
    # Every action but candidate: the article catalogs name no creator by display name only.
    assert all(original.summary[a] > 0 for a in Action if a is not Action.CANDIDATE)
    assert any(len(c.after) > 1 for c in original.changes)
    assert ("delete:demo-ws-eu/model/churn-eu:1" in
            {a for c in original.changes for a in c.after})
    assert any(c.kind == "model" and c.export_state == "changed" for c in original.changes)
    # The blocked chain: a kept service blocks its image, the image's block its model, and
    # no other delete waits for either of them.
    blocked = {c.address: c for c in original.changes if c.action is Action.BLOCKED}
    assert {a: (c.after, c.reason) for a, c in blocked.items()} == {
        "delete:demo-ws-eu/image/fraud-eu-img:1": ((), (
            "used by service fraud-eu-svc, which this plan keeps; to delete it too, add "
            '{kind: service, ids: ["fraud-eu-svc"]} to delete.select')),
        "delete:demo-ws-eu/model/fraud-eu:1": (
            (), "used by image fraud-eu-img:1, whose delete is blocked too"),
    }
    assert not blocked.keys() & {a for c in original.changes for a in c.after}
    workspace = {c.address: c for c in original.changes}["delete:demo-ws-eu/workspace/demo-ws-eu"]
    assert workspace.after == ("delete:demo-ws-eu/image/churn-eu-img:1",
                               "delete:demo-ws-eu/model/churn-eu:1")


def test_a_renamed_catalog_gives_the_same_changes(renaming: Mapping[str, str]) -> None:
    original, renamed = plans(renaming)
    back = {new: old for old, new in renaming.items()}.__getitem__
    assert sorted(map(str, (as_original(c, back) for c in renamed.changes))) == sorted(
        map(str, original.changes))


def test_a_renamed_catalog_gives_the_same_delete_order(renaming: Mapping[str, str]) -> None:
    original, renamed = plans(renaming)
    to = renaming.__getitem__
    expected = {renamed_address(c.address, to): {renamed_address(a, to) for a in c.after}
                for c in original.changes if c.action is Action.DELETE}
    got = {c.address: set(c.after) for c in renamed.changes if c.action is Action.DELETE}
    assert got == expected


def test_a_renamed_catalog_records_its_scope_kind_and_warns_by_it(
    renaming: Mapping[str, str],
) -> None:
    original, renamed = plans(renaming)
    scope = renaming["workspace"]
    assert renamed.catalog.scope_kind == scope
    assert [w for w in original.warnings if "whole" in w] == [
        "this plan deletes the whole workspace demo-ws-eu and everything in it"]
    assert [w for w in renamed.warnings if "whole" in w] == [
        f"this plan deletes the whole {scope} demo-ws-eu and everything in it"]
