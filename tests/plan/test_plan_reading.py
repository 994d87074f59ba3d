"""The stream reader apply uses (`amlctl.plan.reading`): the plan `load_doc` reads, and for a
bad file the very error `load_doc` gives, whatever the layout and wherever a read ends."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from plan_factories import bulk_doc, delete, make_doc, make_plan, subject_changes, teardown_plan

from amlctl import jsonstream
from amlctl.canonical import compute_digest, pretty_json
from amlctl.errors import PlanFileError
from amlctl.plan import from_doc, load_doc, reading, write_plan
from amlctl.plan.model import Action

PLANS = {
    "subject": lambda: make_plan(subject_changes(), warnings=("due soon",)),
    "teardown": teardown_plan,
    "empty": make_plan,
}


@pytest.fixture(params=[1 << 20, 7], ids=["chunk-1MiB", "chunk-7B"])
def chunk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Read the file in pieces of this many bytes: 7 cuts every value, key and number."""
    monkeypatch.setattr(jsonstream, "CHUNK", request.param)
    return int(request.param)


@pytest.fixture
def streamed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A good file must be read as a stream: never handed whole to `load_doc`."""
    def whole(path: Path, stored: reading.StoredChanges) -> dict[str, Any]:
        raise AssertionError(f"{path} was read whole")
    monkeypatch.setattr(reading, "_reread_whole", whole)


def same_plan(path: Path) -> None:
    expected = from_doc(load_doc(path))
    loaded = reading.load_plan(path).plan
    assert tuple(loaded.changes) == expected.changes
    assert loaded.summary == expected.summary
    for name in ("name", "digest", "target", "request", "workspaces", "export_to",
                 "max_deletes", "warnings", "manifest", "catalog"):
        assert getattr(loaded, name) == getattr(expected, name), name
    exports = [c for c in expected.changes if c.action is Action.EXPORT]
    assert list(reading.changes_of(loaded, Action.EXPORT)) == exports
    loaded.changes.close()


@pytest.mark.parametrize("name", sorted(PLANS))
def test_a_written_plan_reads_the_same(
    tmp_path: Path, name: str, chunk: int, streamed: None
) -> None:
    path = tmp_path / "x.plan.json"
    write_plan(PLANS[name](), path)
    same_plan(path)


@pytest.mark.parametrize("layout", ["compact", "changes-first", "changes-last", "spaced"])
def test_any_layout_of_the_document_reads_the_same(
    tmp_path: Path, layout: str, chunk: int, streamed: None
) -> None:
    doc = make_doc(subject_changes())
    changes = doc.pop("changes")
    ordered = {
        "compact": {**doc, "changes": changes},
        "changes-first": {"changes": changes, **doc},
        "changes-last": {**{k: v for k, v in doc.items() if k != "digest"},
                         "changes": changes, "digest": doc["digest"]},
        "spaced": {**doc, "changes": changes},
    }[layout]
    text = json.dumps(ordered, ensure_ascii=False, separators=(",", ":"))
    if layout == "spaced":
        spaced = json.dumps(ordered, ensure_ascii=False, indent="\t ", separators=(" ,", " : "))
        text = " \r\n\t" + spaced + "\n \n"
    path = tmp_path / "x.plan.json"
    path.write_text(text, encoding="utf-8")
    same_plan(path)


def test_a_big_plan_keeps_an_offset_per_change_not_the_change(
    tmp_path: Path, streamed: None
) -> None:
    path = tmp_path / "x.plan.json"
    doc = bulk_doc(3000)
    doc["digest"] = compute_digest(doc)
    path.write_bytes(pretty_json(doc))
    loaded = reading.load_plan(path)
    assert isinstance(loaded.plan.changes, reading.StoredChanges)
    assert len(loaded.plan.changes) == 3000
    assert loaded.doc["changes"][2999] == load_doc(path)["changes"][2999]
    loaded.plan.changes.close()


def _edit(change: Callable[[dict[str, Any]], None], *, fix_digest: bool = True) -> bytes:
    doc = make_doc(subject_changes())
    change(doc)
    if fix_digest:
        doc["digest"] = compute_digest(doc)
    return pretty_json(doc)


def _tamper(doc: dict[str, Any]) -> None:
    doc["changes"][2]["url"] += "x"


def _reorder(doc: dict[str, Any]) -> None:
    doc["changes"][0], doc["changes"][4] = doc["changes"][4], doc["changes"][0]


def _duplicate(doc: dict[str, Any]) -> None:
    doc["changes"].append(dict(doc["changes"][0]))


def _bad_action(doc: dict[str, Any]) -> None:
    doc["changes"][1]["action"] = "obliterate"


def _after_nothing(doc: dict[str, Any]) -> None:
    doc["changes"][0]["after"] = ["delete:demo-ws/run/nope"]


def _not_a_list(doc: dict[str, Any]) -> None:
    doc["changes"] = {"a": 1}


def _no_changes(doc: dict[str, Any]) -> None:
    del doc["changes"]


GOOD = pretty_json(make_doc([delete("run", "r1")]))
BAD_FILES = {
    "empty": b"",
    "not-utf8": b"\xff{}",
    "bom": b"\xef\xbb\xbf" + GOOD,
    "array": b"[]",
    "nan": GOOD.replace(b'"maxDeletes": ', b'"maxDeletes": NaN, "x": '),
    "top-duplicate-key": GOOD.replace(b'"name": ', b'"name": "a", "name": ', 1),
    "change-duplicate-key": GOOD.replace(b'"kind": ', b'"kind": "run", "kind": ', 1),
    "cut-short": GOOD[: len(GOOD) // 2],
    "text-after": GOOD + b"{}",
    "two-commas": GOOD.replace(b"},", b"},,", 1),
    "tampered": _edit(_tamper, fix_digest=False),
    "reordered": _edit(_reorder),
    "duplicate-address": _edit(_duplicate),
    "bad-action": _edit(_bad_action),
    "after-nothing": _edit(_after_nothing),
    "changes-not-a-list": _edit(_not_a_list),
    "no-changes": _edit(_no_changes),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_bad_file_gives_the_error_load_doc_gives(tmp_path: Path, name: str, chunk: int) -> None:
    path = tmp_path / "x.plan.json"
    path.write_bytes(BAD_FILES[name])
    with pytest.raises(PlanFileError) as expected:
        load_doc(path)
    with pytest.raises(PlanFileError) as caught:
        reading.load_plan(path)
    assert str(caught.value) == str(expected.value)


def test_a_missing_file_gives_the_error_load_doc_gives(tmp_path: Path) -> None:
    with pytest.raises(PlanFileError) as caught:
        reading.load_plan(tmp_path / "missing.json")
    assert "cannot read plan file" in str(caught.value)


def test_passes_in_plan_order_read_blocks_and_agree_with_reads_by_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A block smaller than one change, and one of a few changes: every way a line meets a
    # block's end.
    path = tmp_path / "x.plan.json"
    write_plan(make_plan(subject_changes()), path)
    for block in (1, 300, 1 << 16):
        monkeypatch.setattr(reading, "_SCAN_BLOCK", block)
        loaded = reading.load_plan(path).plan
        stored = loaded.changes
        by_index = [stored[i] for i in range(len(stored))]
        assert list(stored) == by_index
        assert list(stored.docs()) == [stored.doc(i) for i in range(len(stored))]
        exports = [i for i, c in enumerate(by_index) if c.action is Action.EXPORT]
        assert list(reading.indexes_of(loaded, Action.EXPORT)) == exports
        assert [i for i, _ in reading.indexed(loaded, Action.EXPORT)] == exports
        made = reading.made_of(loaded, exports, lambda i, c: (i, c.address))
        assert list(made) == [(i, by_index[i].address) for i in exports]
        assert made[0] == (exports[0], by_index[exports[0]].address)
        stored.close()


def test_a_pass_in_plan_order_reads_far_fewer_times_than_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "x.plan.json"
    doc = bulk_doc(600)
    doc["digest"] = compute_digest(doc)
    path.write_bytes(pretty_json(doc))
    loaded = reading.load_plan(path).plan
    reads: list[int] = []
    real = reading.os.pread

    def counted(fd: int, size: int, offset: int) -> bytes:
        reads.append(offset)
        return real(fd, size, offset)

    monkeypatch.setattr(reading.os, "pread", counted)
    assert len(list(loaded.changes)) == 600
    assert 0 < len(reads) < 60  # a block of 64 KiB holds dozens of changes
    loaded.changes.close()
