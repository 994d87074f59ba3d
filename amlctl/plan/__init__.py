"""The plan: model (what apply will do), serialization (the versioned plan file) and checks."""

from __future__ import annotations

from amlctl.plan.model import (
    ACTION_ORDER,
    Action,
    CatalogRef,
    Change,
    ManifestRef,
    Plan,
    RequestInfo,
    Target,
    WorkspaceRef,
    change_sort_key,
)
from amlctl.plan.serialize import (
    FORMAT_VERSION,
    from_doc,
    load_doc,
    plan_timestamp,
    to_doc,
    write_plan,
)

__all__ = [
    "ACTION_ORDER",
    "FORMAT_VERSION",
    "Action",
    "CatalogRef",
    "Change",
    "ManifestRef",
    "Plan",
    "RequestInfo",
    "Target",
    "WorkspaceRef",
    "change_sort_key",
    "from_doc",
    "load_doc",
    "plan_timestamp",
    "to_doc",
    "write_plan",
]
