"""Exporter: files, permissions, secrets, index merge on resume, and verify catching tampering."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from amlctl.apply.export import index as exportindex
from amlctl.apply.export.entries import BATCH
from amlctl.apply.export.exporter import (
    Exporter,
    ExportRecord,
    clean_source_url,
    strip_secrets,
    verify_files,
)
from amlctl.apply.export.paths import export_file
from amlctl.apply.journal import EXPORT_DONE, FAILED, START, Journal
from amlctl.canonical import pretty_json
from amlctl.fsio import UnsafePathError

WHEN = datetime(2024, 5, 1, 12, 30, 45, tzinfo=UTC)
URL = (
    "https://westeurope.api.azureml.ms/history/v1.0/subscriptions/s/runs/r1"
    "?api-version=2023-04-01&sig=SECRETSIG&se=2030-01-01&sv=2019-02-02"
)


def exporter(root: Path) -> Exporter:
    return Exporter(root, now=lambda: WHEN)


def export_run(ex: Exporter, run_id: str = "run 1/../x", **kw: Any) -> ExportRecord:
    return ex.export_item(
        f"export:ws/run/{run_id}",
        export_file("ws", "run", run_id),
        {"id": run_id, "n": 1},
        source_url=URL,
        request_id="req-1",
        fingerprint="sha256:f1",
        **kw,
    )


def test_item_file_is_pretty_sorted_json_0600_in_0700_folders(tmp_path: Path) -> None:
    root = tmp_path / "exports"
    old = os.umask(0o022)
    try:
        record = export_run(exporter(root), content=iter([b"model ", b"bytes"]))
    finally:
        os.umask(old)
    assert record.file == export_file("ws", "run", "run 1/../x")
    data = (root / record.file).read_bytes()
    assert data == b'{\n  "id": "run 1/../x",\n  "n": 1\n}\n'
    assert (record.sha256, record.size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert record.content_file == record.file.removesuffix(".json") + ".content"
    assert (root / record.content_file).read_bytes() == b"model bytes"
    assert record.content_sha256 == hashlib.sha256(b"model bytes").hexdigest()
    assert record.content_size == 11
    assert stat.S_IMODE((root / record.file).stat().st_mode) == 0o600
    assert stat.S_IMODE((root / record.content_file).stat().st_mode) == 0o600
    for folder in (root, root / "ws", root / "ws" / "run"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert record.source_url.endswith("/runs/r1?api-version=2023-04-01")
    assert record.exported_at == "2024-05-01T12:30:45Z"


def test_non_ascii_is_written_as_utf8(tmp_path: Path) -> None:
    record = exporter(tmp_path).export_item(
        "export:ws/user/u",
        "ws/user/u.json",
        {"name": "Zoë"},
        source_url=URL,
        request_id=None,
        fingerprint="etag:1",
    )
    assert (tmp_path / record.file).read_bytes() == '{\n  "name": "Zoë"\n}\n'.encode()
    assert record.content_file is None and "content_file" not in record.entry()


@pytest.mark.parametrize(
    "relative", ["../escape.json", "/etc/cron.d/x.json", "ws/../../x.json", "ws/item.txt"]
)
def test_hostile_file_names_are_refused(tmp_path: Path, relative: str) -> None:
    root = tmp_path / "exports"
    with pytest.raises(UnsafePathError):
        exporter(root).export_item(
            "export:ws/run/x",
            relative,
            {"id": "x"},
            source_url=URL,
            request_id=None,
            fingerprint="f",
            content=iter([b"bytes"]),
        )
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_symlinked_kind_folder_is_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "exports", tmp_path / "elsewhere"
    (root / "ws").mkdir(parents=True)
    outside.mkdir()
    (root / "ws" / "run").symlink_to(outside)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        export_run(exporter(root))
    assert list(outside.iterdir()) == []


DATASTORE: dict[str, Any] = {
    "name": "workspaceblobstore",
    "azureStorageSection": {
        "accountName": "acct",
        "accountKey": "FAKE-AccountKey-secret==",
        "sasToken": None,
        "credential": "FAKE-AccountKey-secret==",
        "credentialType": "AccountKey",
    },
    "azureDataLakeSection": {"clientCredentials": {"clientId": "c", "ClientSecret": "cs-1"}},
    "sql": [{"PASSWORD": "pw-1"}, {"user": "u"}],
    "properties": {
        "credentials": {
            "credentialsType": "AccountKey",
            "secrets": {"secretsType": "AccountKey", "key": "v2-key"},
        },
        "credential": {"type": "ManagedIdentity", "clientId": "id-1"},
        "connectionString": "Server=x;Password=pw-2",
        "odd key": {"secret": "s-1"},
    },
}
SECRETS = ["FAKE-AccountKey-secret==", "cs-1", "pw-1", "v2-key", "pw-2", "s-1"]


def test_secrets_are_nulled_and_noted(tmp_path: Path) -> None:
    original = json.loads(json.dumps(DATASTORE))
    record = exporter(tmp_path).export_item(
        "export:ws/datastore/workspaceblobstore",
        "ws/datastore/blob.json",
        DATASTORE,
        source_url=URL,
        request_id="r",
        fingerprint="f",
    )
    assert original == DATASTORE  # the caller's item is not changed
    data = (tmp_path / record.file).read_bytes()
    for secret in SECRETS:
        assert secret.encode() not in data
    written = json.loads(data)
    expected = [
        "$.azureDataLakeSection.clientCredentials.ClientSecret",
        "$.azureStorageSection.accountKey",
        "$.azureStorageSection.credential",
        "$.properties.connectionString",
        "$.properties.credentials.secrets",
        '$.properties["odd key"].secret',
        "$.sql[0].PASSWORD",
    ]
    assert written["_amlctl"] == {"redacted": expected}
    assert list(record.redacted) == expected
    assert written["azureStorageSection"]["accountKey"] is None
    assert written["azureStorageSection"]["accountName"] == "acct"
    assert written["properties"]["credential"] == {"type": "ManagedIdentity", "clientId": "id-1"}
    assert written["sql"][1] == {"user": "u"}


def test_items_without_secrets_get_no_note() -> None:
    clean, found = strip_secrets({"a": {"password": None}, "b": [1, "x"]})
    assert (clean, found) == ({"a": {"password": None}, "b": [1, "x"]}, [])


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ({"a": [{"b": {"sasToken": "t"}}]}, ["$.a[0].b.sasToken"]),  # deep in a list
        ({"p": {"Credential": "x"}}, ["$.p.Credential"]),  # a secret as a string, any case
        ({1: "kept"}, []),  # a key that is not a string: made one, as before
    ],
)
def test_the_quick_check_finds_what_the_walk_would_null(item: dict, expected: list) -> None:
    # Items with no secret skip building a path per key; the check must miss none.
    clean, found = strip_secrets(item)
    assert found == expected
    assert clean.get("_amlctl", {}).get("redacted", []) == expected
    if not expected:
        assert clean == {"1": "kept"}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            URL,
            "https://westeurope.api.azureml.ms/history/v1.0/subscriptions/s/runs/r1"
            "?api-version=2023-04-01",
        ),
        (
            "https://user:pw@h.blob.core.windows.net/c/b?sv=1&sig=abc#frag",
            "https://h.blob.core.windows.net/c/b",
        ),
        ("https://h/x?includeSecret=false&API-VERSION=1", "https://h/x?API-VERSION=1"),
    ],
)
def test_source_url_keeps_only_api_version(url: str, expected: str) -> None:
    assert clean_source_url(url) == expected


def test_index_entries_and_flush(tmp_path: Path) -> None:
    ex = exporter(tmp_path)
    record = export_run(ex, content=iter([b"c"]))
    ex.record("export:ws/run/a", record)
    index = ex.flush_index()
    assert index.path == "index.json"
    assert stat.S_IMODE((tmp_path / "index.json").stat().st_mode) == 0o600
    doc = json.loads((tmp_path / "index.json").read_bytes())
    assert doc["format_version"] == "1.0"
    assert doc["items"] == {
        "export:ws/run/a": {
            "file": record.file,
            "sha256": record.sha256,
            "size": record.size,
            "source_url": clean_source_url(URL),
            "request_id": "req-1",
            "fingerprint": "sha256:f1",
            "exported_at": "2024-05-01T12:30:45Z",
            "content_file": record.content_file,
            "content_sha256": record.content_sha256,
            "content_size": 1,
        }
    }
    assert (tmp_path / "index.json").read_bytes() == pretty_json(doc)
    assert exportindex.fingerprints(str(tmp_path)) == {"export:ws/run/a": "sha256:f1"}


def test_index_merges_with_entries_of_an_earlier_run(tmp_path: Path) -> None:
    first = exporter(tmp_path)
    a, b = export_run(first, "a"), export_run(first, "b")
    first.record("export:ws/run/a", a)
    first.record("export:ws/run/b", b)
    first.flush_index()
    resumed = Exporter(tmp_path, now=lambda: datetime(2024, 6, 1, tzinfo=UTC))
    b2 = resumed.export_item(
        "export:ws/run/b",
        b.file,
        {"id": "b", "n": 2},
        source_url=URL,
        request_id="req-2",
        fingerprint="sha256:f2",
    )
    c = export_run(resumed, "c")
    resumed.record("export:ws/run/b", b2)
    resumed.record("export:ws/run/c", c)
    resumed.flush_index()
    entries = exportindex.read_entries(str(tmp_path))
    assert sorted(entries) == ["export:ws/run/a", "export:ws/run/b", "export:ws/run/c"]
    assert entries["export:ws/run/a"] == a.entry()  # kept from the earlier run
    assert entries["export:ws/run/b"]["fingerprint"] == "sha256:f2"  # this run's wins
    assert entries["export:ws/run/b"]["exported_at"] == "2024-06-01T00:00:00Z"
    assert verify_files(tmp_path, entries) == []


def journal_export(journal: Journal, address: str, record: ExportRecord) -> None:
    """Journal `record` as the executor does: the entry, request id at the top, a status."""
    fields = {k: v for k, v in record.entry().items() if k != "request_id"}
    journal.append(EXPORT_DONE, address, status=200, request_id=record.request_id, **fields)


def test_resume_puts_every_journaled_export_in_the_index(tmp_path: Path) -> None:
    root, plan = tmp_path / "exports", tmp_path / "x.plan.json"
    killed = exporter(root)
    a, b = export_run(killed, "a", content=iter([b"bytes"])), export_run(killed, "b")
    old = export_run(killed, "old")  # exported by an earlier plan into the same folder
    with Journal.open(plan) as journal:
        journal.append(START, plan_digest="sha256:d", target="emulator", started="t0")
        journal_export(journal, "export:ws/run/a", a)
        journal_export(journal, "export:ws/run/b", b)
        journal.append(FAILED, "export:ws/run/c", status=500, code="x", message="m")
    # The killed run never wrote the index; an older one left a stale entry for b.
    stale = {**b.entry(), "sha256": "0" * 64, "exported_at": "2020-01-01T00:00:00Z"}
    doc = {"format_version": "1.0", "items": {"export:ws/run/b": stale, "export:old": old.entry()}}
    (root / "index.json").write_bytes(pretty_json(doc))
    resumed = exporter(root)
    with Journal.open(plan) as journal:
        addresses = [f"export:ws/run/{n}" for n in "abc"]
        assert resumed.resume(journal, addresses) == 2  # c failed: the run exports it again
    resumed.flush_index()
    entries = exportindex.read_entries(str(root))
    assert entries == {
        "export:ws/run/a": a.entry(),
        "export:ws/run/b": b.entry(),  # the journal's entry, not the stale one on disk
        "export:old": old.entry(),  # an earlier plan's entry is kept
    }
    assert verify_files(root, entries) == []


def test_two_addresses_may_not_share_a_file(tmp_path: Path) -> None:
    ex = exporter(tmp_path)
    record = export_run(ex, "a")
    ex.record("export:ws/run/a", record)
    ex.record("export:ws/run/a", record)  # the same address again is fine
    ex.record("export:ws/run/other", record)  # found once the batch reaches the database
    clash = "export:ws/run/other and export:ws/run/a would share"
    with pytest.raises(UnsafePathError, match=clash):
        ex.flush_index()
    # the index was written all the same, with the file's first owner only
    assert set(exportindex.read_entries(str(tmp_path))) == {"export:ws/run/a"}


def test_a_shared_file_is_found_in_a_full_batch_and_the_rest_of_it_kept(tmp_path: Path) -> None:
    ex = exporter(tmp_path)
    record = export_run(ex, "a")
    ex.record("export:ws/run/a", record)
    ex.flush_index()  # `a` is in the database now, and nothing is held back
    with pytest.raises(UnsafePathError, match="would share"):
        for n in range(BATCH):  # the clash is the first of a batch, which is stored when full
            ex.record("export:ws/run/other" if n == 0 else f"export:ws/run/r{n}",
                      record if n == 0 else export_run(ex, f"r{n}"))
    ex.flush_index()
    listed = set(exportindex.read_entries(str(tmp_path)))
    assert "export:ws/run/other" not in listed
    assert listed == {"export:ws/run/a", *(f"export:ws/run/r{n}" for n in range(1, BATCH))}


def test_concurrent_exports_and_flushes(tmp_path: Path) -> None:
    ex = exporter(tmp_path)

    def work(n: int) -> None:
        for i in range(10):
            run_id = f"r{n}-{i}"
            ex.record(f"export:ws/run/{run_id}", export_run(ex, run_id))
            ex.flush_index()

    workers = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    ex.flush_index()
    entries = exportindex.read_entries(str(tmp_path))
    assert len(entries) == 60
    assert verify_files(tmp_path, entries) == []


@pytest.fixture
def exported(tmp_path: Path) -> Iterator[tuple[Path, dict[str, dict[str, Any]]]]:
    ex = exporter(tmp_path)
    for run_id in ("a", "b"):
        ex.record(f"export:ws/run/{run_id}", export_run(ex, run_id, content=iter([b"bytes"])))
    ex.flush_index()
    yield tmp_path, exportindex.read_entries(str(tmp_path))


def test_verify_passes_then_catches_tampering(
    exported: tuple[Path, dict[str, dict[str, Any]]],
) -> None:
    root, entries = exported
    assert verify_files(root, entries) == []
    a, b = entries["export:ws/run/a"], entries["export:ws/run/b"]
    (root / a["file"]).write_bytes((root / a["file"]).read_bytes().replace(b'"a"', b'"z"'))
    (root / b["content_file"]).write_bytes(b"bytes and more")
    problems = verify_files(root, entries)
    assert len(problems) == 3
    assert problems[0].startswith(f"export:ws/run/a: {a['file']}: SHA-256 ")
    assert problems[1] == (f"export:ws/run/b: {b['content_file']}: size 14, the index says 5")
    assert "SHA-256" in problems[2]


def test_verify_reports_missing_links_and_escapes(
    exported: tuple[Path, dict[str, dict[str, Any]]], tmp_path: Path
) -> None:
    root, entries = exported
    a, b = entries["export:ws/run/a"], entries["export:ws/run/b"]
    (root / a["file"]).unlink()
    (root / b["file"]).unlink()
    (root / b["file"]).symlink_to(root / b["content_file"])
    entries["export:ws/run/evil"] = {**a, "file": "../../../etc/passwd", "content_file": None}
    entries["export:ws/run/none"] = {"sha256": "x"}
    problems = verify_files(root, entries)
    assert problems == [
        f"export:ws/run/a: {a['file']}: missing",
        f"export:ws/run/b: {b['file']}: unreadable (Too many levels of symbolic links)",
        "export:ws/run/evil: unsafe path '../../../etc/passwd': '..' would leave the root",
        "export:ws/run/none: index entry names no file",
    ]


@pytest.mark.parametrize("item_id", ["aux.txt", "CON", "nul", "com1.log", "LPT9", "trail..."])
def test_export_names_are_portable_to_windows(item_id: str) -> None:
    from amlctl.apply.export.paths import export_file

    for part in export_file(item_id, "model", item_id).split("/"):
        base = part.split(".", 1)[0].split("~", 1)[0].lower()
        assert base not in {"con", "prn", "aux", "nul", "com1", "lpt9"}, part
        assert not part.endswith((".", " ")), part
