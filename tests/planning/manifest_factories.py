"""Manifests and plan contexts as literal values, for the planning tests.

`select(kind, ...)` makes a selector; `manifest(export=[...], delete=[...])` puts each in its
section at its position, as `load_manifest` would (one test checks it does).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from amlctl.manifest import Condition, Manifest, Request, Selector, Workspace
from amlctl.manifest.model import Subject
from amlctl.plan.model import Target
from amlctl.planning.planner import PlanContext

from .inventory_factories import DEMO, JANE, JANE_OID

CREATED = "2026-11-22T05:00:00Z"


def select(kind: str, **criteria: Any) -> Selector:
    """A selector of `kind`; its section and index are set by `manifest`."""
    return Selector(section="export", index=0, kind=kind, **criteria)


def where(path: str, test: str, value: object) -> tuple[Condition, ...]:
    return (Condition(path, test, value),)


def request(
    oid: str | None = JANE_OID, user: str | None = JANE, *, due: dt.date = dt.date(2026, 12, 20)
) -> Request:
    return Request("DSR-2026-0042", dt.date(2026, 11, 20), due, Subject(oid, user))


def manifest(
    *,
    export: Iterable[Selector] = (),
    delete: Iterable[Selector] = (),
    workspaces: Iterable[Workspace] = (DEMO,),
    request: Request | None = None,
    max_deletes: int | None = None,
    catalog: str = "azureml-2019-11-01",
) -> Manifest:
    exports = tuple(replace(s, section="export", index=i) for i, s in enumerate(export))
    deletes = tuple(replace(s, section="delete", index=i) for i, s in enumerate(delete))
    return Manifest(
        path="plans/unit.yaml",
        sha256="0" * 64,
        name="unit",
        catalog=catalog,
        workspaces=tuple(workspaces),
        request=request,
        export_to="exports/unit" if exports else None,
        export=exports,
        delete=deletes,
        max_deletes=max_deletes,
    )


def context(export_index: Mapping[str, str] | None = None) -> PlanContext:
    return PlanContext(Target("azure"), CREATED, "0.1.0", dict(export_index or {}))
