"""The fast change check must never accept a change the JSON Schema refuses."""

from __future__ import annotations

import copy
import itertools
import time
from pathlib import Path
from typing import Any

import pytest
from plan_factories import bulk_changes, make_doc, make_plan, subject_changes, teardown_plan

from amlctl import schemacheck
from amlctl.plan import from_doc, load_doc, to_doc, write_plan
from amlctl.plan.shape import CHANGE_KEYS, change_conforms
from amlctl.plan.validation import _validator

VALUES: list[Any] = [
    None, "", "x", "a/b", "/abs", "\\win", "GET", "DELETE", "new", "changed", "delete",
    "export", "absent", "unchanged", "manual", "Run", "run", "run\n", True, False, 0, 1, [],
    {}, "https://h.example/x", "https://u@h.example/x", "http://h.example/x",
    "https://h.example/a b", "etag:", 'etag:"1"', "sha256:" + "a" * 64, "sha256:" + "A" * 64,
]


def base_changes() -> list[dict[str, Any]]:
    return to_doc(make_plan(subject_changes()))["changes"] + to_doc(teardown_plan())["changes"]


def mutations() -> list[dict[str, Any]]:
    found = []
    for change in base_changes():
        for key, value in itertools.product(sorted(CHANGE_KEYS), VALUES):
            mutated = copy.deepcopy(change)
            mutated[key] = value
            found.append(mutated)
        for key in sorted(CHANGE_KEYS):
            found.append({k: v for k, v in change.items() if k != key})
        found.append({**change, "extra": 1})
    return found


@pytest.mark.parametrize("strict", [True, False])
def test_fast_check_accepts_only_what_the_schema_accepts(strict: bool) -> None:
    schema = _validator(strict, "change")
    accepted = 0
    for change in mutations():
        if change_conforms(change, strict=strict):
            accepted += 1
            assert schema.is_valid(change), change
    assert accepted > 100  # the check is not trivially refusing everything


def test_the_plan_schema_comes_from_the_shared_loader_unchanged() -> None:
    shared = schemacheck.load_schema("plan")
    before = copy.deepcopy(dict(shared))
    assert _validator(True, "plan").schema is shared
    assert "additionalProperties" not in str(_validator(False, "plan").schema)
    assert schemacheck.load_schema("plan") == before  # the lenient 1.x variant is a copy


def test_fast_check_accepts_the_valid_changes() -> None:
    assert all(change_conforms(change) for change in base_changes())
    assert not change_conforms("not a change")


def test_a_large_plan_writes_and_loads_quickly(tmp_path: Path) -> None:
    plan = make_plan(bulk_changes(5000))
    started = time.perf_counter()
    write_plan(plan, tmp_path / "big.json")
    assert from_doc(load_doc(tmp_path / "big.json")) == plan
    assert time.perf_counter() - started < 5  # jsonschema alone would take about 2 s here


def test_a_thousand_broken_changes_give_a_bounded_error() -> None:
    from amlctl.plan.validation import MAX_PROBLEMS, problems

    doc = make_doc(bulk_changes(1000))
    for change in doc["changes"]:
        change["method"] = "PATCH"
    found = problems(doc, "big.plan.json")
    assert len(found) == MAX_PROBLEMS + 1
    assert found[-1].message.startswith("... and ")
    assert {(d.file, d.line, d.col) for d in found} == {("big.plan.json", 0, 0)}
