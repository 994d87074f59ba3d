"""The plans the golden files show, one small builder each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plan_factories import (
    absent,
    delete,
    export,
    make_doc,
    manual,
    subject_changes,
    teardown_plan,
    unchanged,
    workspace_ref,
)

from amlctl.plan import Change, Target, to_doc

HOSTILE_IDS = [
    "<script>alert(1)</script>",
    "a|b|c",
    "```\n</details><img src=x onerror=alert(1)>",
    "tick`s and ``doubles``",
    "line1\nline2\r\x1b[31mred\x1b[0m",
    "@octocat #1 [click](https://evil.example) $x$",
    "\u202egnp.exe",
    "x" * 400,
]


def hostile_changes() -> list[Change]:
    return [delete("model", item_id, name="<b>bold</b> | name") for item_id in HOSTILE_IDS] + [
        manual("<img src=x>", kind="pipeline_graph"),
        export("run", "run|`x`", file="demo-ws/run/<x>.json", reason="reason with <b>html</b> |"),
    ]


CASES: dict[str, Callable[[], dict[str, Any]]] = {
    "empty": make_doc,
    "subject": lambda: make_doc(subject_changes(), warnings=(
        "request DSR-2026-0042 is due 2026-12-20 (in 5 days)",)),
    "teardown": lambda: to_doc(teardown_plan()),
    "manual": lambda: make_doc([manual("designer-drafts"), manual("designer-datasets")],
                               export_to=None),
    "nothing-to-do": lambda: make_doc(
        [unchanged("run", "run-1"), unchanged("run", "run-2"), absent("service", "svc-eu")]),
    "two-workspaces": lambda: make_doc(
        [delete("run", "r1"), export("run", "r1", ws="other-ws"), absent("model", "m:1")],
        workspaces=(workspace_ref(), workspace_ref("other-ws")),
        target=Target("endpoint", "http://127.0.0.1:8765"),
    ),
    "hostile": lambda: make_doc(hostile_changes(), name="evil|name`<b>",
                                warnings=("id <script> | `x` @team *bold* [l](u)",)),
}
