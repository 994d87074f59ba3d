"""The export index is read as a stream (`index.iter_entries`): the same entries, and the same
errors, as reading the whole file, so plan, a resumed apply, verify and package need not hold
an index of 100k exports in memory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from amlctl import jsonstream
from amlctl.apply.export import index as exportindex
from amlctl.apply.export.entries import Entries
from amlctl.errors import PlanFileError
from amlctl.jsonstream import CHUNK


def _entry(n: int) -> dict[str, Any]:
    return {"file": f"ws/run/r{n}.json", "fingerprint": f"sha256:{n:064x}", "size": n,
            "sha256": f"{n:064x}", "source_url": "https://h/x?api-version=1", "request_id": None,
            "exported_at": "2026-12-02T10:00:00Z", "note": "é ☃ \u2028"}


def _whole(folder: Path) -> dict[str, Any]:
    doc = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    return {k: v for k, v in doc["items"].items() if isinstance(v, dict)}


def test_the_index_apply_writes_streams_back_entry_for_entry(tmp_path: Path) -> None:
    entries = Entries()
    count = 3 * CHUNK // 400  # entries across several of the reader's chunks
    for n in range(count):
        entries.add(f"export:ws/run/r{n}", f"ws/run/r{n}.json", _entry(n))
    entries.write_index(tmp_path)

    streamed = list(exportindex.iter_entries(str(tmp_path)))

    assert (tmp_path / "index.json").stat().st_size > 2 * CHUNK
    assert len(streamed) == count and dict(streamed) == _whole(tmp_path)
    assert exportindex.fingerprints(str(tmp_path))["export:ws/run/r7"] == _entry(7)["fingerprint"]
    wanted = {"export:ws/run/r3", "export:ws/run/r999999"}
    assert exportindex.entries_for(str(tmp_path), wanted) == {"export:ws/run/r3": _entry(3)}


def test_the_fingerprints_a_plan_holds_read_back_as_the_index_gave_them() -> None:
    given = {
        "export:ws/run/r1": "sha256:" + "ab" * 32,  # kept as its digest
        "export:ws/model_version/churn/1": "sha256:" + "AB" * 32,  # upper case: kept as is
        "export:ws/run/": 'etag:"0x8D9"',
        "export:ws/run": "sha256:" + "cd" * 32,  # not of the usual shape: kept whole
        "delete:ws/run/r1": "",
        "export:other-ws/run/r1": "sha256:" + "ef" * 32,
    }
    known = exportindex.LastExported(given.items())
    assert dict(known) == given and len(known) == len(given)
    assert all(known[address] == known.get(address) == fp for address, fp in given.items())
    assert "export:ws/run/r2" not in known and known.get("export:ws/run/r2") is None
    assert known.get("export:nowhere/run/r1", "absent") == "absent"
    with pytest.raises(KeyError):
        known["export:ws/run/r2"]


@pytest.mark.parametrize(
    "text",
    [
        '{"items": {"a": {"x": 1}, "b": 2, "c": {"y": []}}, "format_version": "1.0"}',
        '{ "format_version" : "1.3" , "items" : { } }',
        '{"format_version": "1.0", "items": {"a": {"x": 1}, "a": {"x": 2}}, "extra": [1, {}]}',
        '\n\t{"format_version":"1.0","items":{"a":{"n":1e400,"m":NaN}}}\n',
    ],
)
@pytest.mark.parametrize("chunk", [CHUNK, 7], ids=["chunk-1MiB", "chunk-7B"])
def test_any_index_the_whole_file_reader_takes_reads_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, chunk: int
) -> None:
    monkeypatch.setattr(jsonstream, "CHUNK", chunk)  # 7 bytes cut every key, value and number
    (tmp_path / "index.json").write_text(text, encoding="utf-8")

    streamed = dict(exportindex.iter_entries(str(tmp_path)))

    assert json.dumps(streamed) == json.dumps(_whole(tmp_path))  # NaN != NaN: compare text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"format_version": "1.0", "items": {"a": {"x": 1}', "export index is unreadable"),
        (b'{"format_version": "1.0", "items": {"a": "\xff"}}', "export index is unreadable"),
        (b'{"format_version": "1.0", "items": {}} trailing', "export index is unreadable"),
        (b'{"format_version": "2.0", "items": {}}', "not an amlctl export index"),
        (b'{"format_version": "1.0", "items": []}', "not an amlctl export index"),
        (b'{"format_version": "1.0"}', "not an amlctl export index"),
        (b"[]", "not an amlctl export index"),
    ],
)
def test_a_bad_index_gets_the_whole_file_readers_error(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "index.json"
    path.write_bytes(content)

    with pytest.raises(PlanFileError, match=message) as raised:
        list(exportindex.iter_entries(str(tmp_path)))

    assert str(path) in str(raised.value)


def test_no_index_is_no_entries(tmp_path: Path) -> None:
    assert list(exportindex.iter_entries(str(tmp_path / "nothing-yet"))) == []
    assert list(exportindex.iter_entries(None)) == []


def test_entries_come_as_the_file_is_read_not_after_it_is_whole(tmp_path: Path) -> None:
    entries = Entries()
    for n in range(3 * CHUNK // 400):
        entries.add(f"export:ws/run/r{n}", f"ws/run/r{n}.json", _entry(n))
    entries.write_index(tmp_path)
    path = tmp_path / "index.json"
    path.write_bytes(path.read_bytes()[:-10])  # cut short: the whole-file reader refuses it

    streamed = exportindex.iter_entries(str(tmp_path))

    assert next(streamed) == ("export:ws/run/r0", _entry(0))  # before the end was read
    with pytest.raises(PlanFileError, match="export index is unreadable"):
        list(streamed)
