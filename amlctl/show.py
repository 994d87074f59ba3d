"""`amlctl show PLAN`: render a saved plan file in any format.

Show checks that the file is a well-formed, untampered plan (its schema, digest and summary), but
never whether it is stale: a pull-request pipeline must be able to display an old plan.
"""

from __future__ import annotations

import sys
from pathlib import Path

from amlctl.plan.serialize import load_doc
from amlctl.render import get_renderer, use_color

__all__ = ["show"]


def show(plan_path: Path, fmt: str, color: bool | None = None) -> str:
    """The plan file at `plan_path` rendered as `fmt`; `color=None` decides from stdout.

    Raises UsageError for an unknown format (before reading the file) and PlanFileError, naming
    the file and each problem's JSON path, when the file is not a valid plan.
    """
    renderer = get_renderer(fmt)
    doc = load_doc(plan_path)
    return renderer(doc, use_color(sys.stdout) if color is None else color)
