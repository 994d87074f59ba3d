"""The checks of a plan document read each change once, and give what separate passes gave."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from plan_factories import bulk_changes, delete, make_doc, make_plan, subject_changes

from amlctl.canonical import Made, compute_digest
from amlctl.errors import PlanFileError
from amlctl.plan import load_doc, to_doc, write_plan
from amlctl.plan.validation import _query_keys, problems, seal


class Counted:
    """A `Made` of a list of change documents that counts how often each one is read."""

    def __init__(self, changes: list[dict[str, Any]]) -> None:
        self.changes, self.reads = changes, [0] * len(changes)

    def made(self) -> Made:
        return Made(range(len(self.changes)), self._read)

    def _read(self, index: int) -> dict[str, Any]:
        self.reads[index] += 1
        return self.changes[index]


def test_problems_read_each_change_once() -> None:
    doc = make_doc(bulk_changes(200))
    counted = Counted(doc["changes"])
    assert problems({**doc, "changes": counted.made()}, "x.plan.json") == []
    assert counted.reads == [1] * 200


def test_problems_of_a_broken_plan_read_each_change_once() -> None:
    doc = make_doc(subject_changes())
    doc["changes"][0]["address"] = "delete:demo-ws/model/other"  # read before the next
    doc["changes"][2]["method"] = "PATCH"
    doc["digest"] = compute_digest(doc)
    counted = Counted(doc["changes"])
    found = problems({**doc, "changes": counted.made()}, "x.plan.json")
    # The schema's problem alone: what relies on the schema is not reported while it fails.
    assert {d.path for d in found} == {"$.changes[2].method"}
    assert counted.reads == [1] * len(doc["changes"])


def test_seal_sets_the_digest_of_what_it_checked() -> None:
    doc = make_doc(bulk_changes(50))
    recorded = doc.pop("digest")
    counted = Counted(doc["changes"])
    sealed = {**doc, "changes": counted.made()}
    assert seal(sealed, "x.plan.json") == []
    assert sealed["digest"] == recorded == compute_digest(doc)
    assert counted.reads == [1] * 50


def test_seal_reports_what_problems_reports_but_the_digest() -> None:
    doc = make_doc(subject_changes())
    doc["changes"][0]["address"] = "delete:demo-ws/model/other"
    doc["changes"][3]["url"] += "&sig=c2VjcmV0"
    doc["summary"]["delete"] += 1
    doc["digest"] = compute_digest(doc)
    expected = problems(doc, "x.plan.json")
    assert len(expected) == 3
    unsealed = copy.deepcopy(doc)
    del unsealed["digest"]
    assert seal(unsealed, "x.plan.json") == expected


def test_write_plan_records_the_digest_it_checked(tmp_path: Path) -> None:
    plan = make_plan(bulk_changes(40))
    doc = write_plan(plan, tmp_path / "x.plan.json")
    assert load_doc(tmp_path / "x.plan.json")["digest"] == doc["digest"]
    assert doc["digest"] == to_doc(plan)["digest"]
    assert list(doc["changes"]) == to_doc(plan)["changes"]  # for rendering, made again


def test_a_plan_found_invalid_while_written_leaves_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "x.plan.json"
    write_plan(make_plan(subject_changes()), path)
    before = path.read_bytes()
    changes = subject_changes()
    at = next(i for i, change in enumerate(changes) if change.url is not None)
    changes[at] = dataclasses.replace(changes[at], url=f"{changes[at].url}&sig=secret")
    with pytest.raises(PlanFileError, match=r"refusing to write an invalid plan:\n  \$\.changes"
                       r"\[\d+\]\.url: carries a credential"):
        write_plan(make_plan(changes), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.plan.json"]  # no temp file left


def test_a_digest_that_cannot_be_computed_still_checks_every_change() -> None:
    doc = make_doc([delete("run", "r1"), delete("run", "r2"), delete("run", "r3")])
    doc["changes"][0]["body"] = {"tags": [float("nan")]}  # no JSON: the digest stops here
    doc["changes"][2]["file"] = "../x.json"
    found = {(d.path, d.message.split(":")[0]) for d in problems(doc, "x.plan.json")}
    assert ("$", "cannot compute the digest") in found
    assert any(path == "$.changes[2].file" for path, _ in found)


@pytest.mark.parametrize("url", [
    "https://h.example/p",
    "https://h.example/p?api-version=2019-11-01",
    "https://h.example/p?api-version=1&sig=abc",
    "https://h.example/p?a=1&&b&=x&Sig=2",
    "https://h.example/p?si%67=x",
    "https://h.example/p?to+ken=1&access%5Ftoken=2",
    "https://h.example/p#frag?sig=1",
    "https://h.example/p?x=1#sig=2",
    "https://h.example/p?x=1&sig\n",
    "https://h.example/p?sig\t=1",
    "https://[::1]/p?sig=1",
])
def test_query_keys_are_the_names_parse_qsl_reads(url: str) -> None:
    expected = [name for name, _ in parse_qsl(urlsplit(url).query, True) if name]
    assert [name for name in _query_keys(url) if name] == expected
