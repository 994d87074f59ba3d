"""`amlctl package PLAN -o FILE.zip`: the data subject's copy, end to end on the emulator (plan,
apply, verify, then the package): its contents and hashes, determinism, the refusal of a
tampered file, and a summary that names no one."""

from __future__ import annotations

import hashlib
import json
import stat
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from apply_helpers import DSR, Emulator, Planned, cli, emulator, make_plan, ws_key

from amlctl.apply.package import select
from amlctl.apply.package_summary import summary
from amlctl.azure.auth import StaticToken
from amlctl.emulator.seed import WORKSPACE
from amlctl.plan.model import (
    Action,
    CatalogRef,
    Change,
    ManifestRef,
    Plan,
    RequestInfo,
    Target,
    WorkspaceRef,
)

FOLDER = "DSR-2026-0042"
SUBJECT_OID = "8b0c2f4e-0000-4000-8000-000000000042"
APPLIER = "applier-3f9d1c2e-7777-4000-8000-00000000beef"  # the identity that applies


@pytest.fixture
def emu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    # A recognisable applying identity (the emulator's own is the word "emulator").
    monkeypatch.setattr(StaticToken, "identity", lambda self: APPLIER)
    with emulator(tmp_path / "emu") as running:
        yield running


def applied(emu: Emulator) -> Planned:
    planned = make_plan(emu, DSR)
    result = cli("apply", str(planned.path), "--endpoint", emu.origin, "--yes")
    assert result.code == 0, result.text
    assert cli("verify", str(planned.path), "--endpoint", emu.origin,
               "--manual-done", "all").code == 0
    return planned


def package(planned: Planned, out: str) -> Any:
    return cli("package", str(planned.path), "-o", out)


def members(path: str) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def test_the_package_holds_the_exported_files_their_index_and_hashes(emu: Emulator) -> None:
    planned = applied(emu)
    result = package(planned, "out/dsr.zip")
    assert result.code == 0, result.err
    zipped = Path("out/dsr.zip").read_bytes()
    assert f"sha256 {hashlib.sha256(zipped).hexdigest()}" in result.out
    assert stat.S_IMODE(Path("out/dsr.zip").stat().st_mode) == 0o600

    files = members("out/dsr.zip")
    names = list(files)
    assert names == sorted(names) and all(n.startswith(f"{FOLDER}/") for n in names)
    inside = {name.removeprefix(f"{FOLDER}/"): data for name, data in files.items()}
    exported = {a: i for a, i in planned.receipt_items().items() if i["result"] == "exported"}
    expected = {i["file"] for i in exported.values()}
    expected |= {i["content_file"] for i in exported.values() if i["content_file"]}
    assert set(inside) == expected | {"README.txt", "index.json", "contents.json"}
    for name in expected:  # byte for byte what apply wrote
        assert inside[name] == (planned.export_root / name).read_bytes()

    index = json.loads(inside["index.json"])
    on_disk = json.loads((planned.export_root / "index.json").read_text())["items"]
    assert index == {"format_version": "1.0", "items": {a: on_disk[a] for a in exported}}
    for entry in index["items"].values():
        assert hashlib.sha256(inside[entry["file"]]).hexdigest() == entry["sha256"]

    contents = json.loads(inside["contents.json"])
    assert contents["request"] == "DSR-2026-0042"
    assert contents["plan"] == {"name": planned.doc["name"], "digest": planned.digest}
    listed = {row["path"]: row for row in contents["files"]}
    assert set(listed) == set(inside) - {"contents.json"}
    for path, row in listed.items():
        assert row["sha256"] == hashlib.sha256(inside[path]).hexdigest()
        assert row["size"] == len(inside[path])
    run = next(a for a in exported if "/run/" in a)
    assert listed[exported[run]["file"]]["address"] == run

    readme = inside["README.txt"].decode()
    assert "Request:   DSR-2026-0042" in readme and "Received:  2026-11-20" in readme
    assert "demo-ws (region eastus)" in readme and "demo-ws-eu (region westeurope)" in readme
    assert "Contents:  35 items in 47 files, from 2 workspaces" in readme
    assert "  run                      4     4  runs of experiments" in readme
    assert "Export data added in the designer (workspaces demo-ws, demo-ws-eu)" in readme


def test_the_same_export_gives_the_same_bytes(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    planned = applied(emu)
    assert package(planned, "one.zip").code == 0
    assert package(planned, "two.zip").code == 0
    assert Path("one.zip").read_bytes() == Path("two.zip").read_bytes()
    # Without SOURCE_DATE_EPOCH every entry carries the receipt's finish time.
    finished = datetime.fromisoformat(planned.receipt()["finished"])
    with zipfile.ZipFile("one.zip") as archive:
        stamps = {info.date_time for info in archive.infolist()}
        modes = {info.external_attr >> 16 for info in archive.infolist()}
    assert stamps == {finished.replace(second=finished.second // 2 * 2).timetuple()[:6]}
    assert modes == {stat.S_IFREG | 0o600}

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1798761600")  # 2027-01-01T00:00:00Z
    assert package(planned, "three.zip").code == 0
    assert package(planned, "four.zip").code == 0
    assert Path("three.zip").read_bytes() == Path("four.zip").read_bytes()
    with zipfile.ZipFile("three.zip") as archive:
        assert {info.date_time for info in archive.infolist()} == {(2027, 1, 1, 0, 0, 0)}
        readme = archive.read(f"{FOLDER}/README.txt").decode()
    assert "Prepared:  2027-01-01" in readme
    assert datetime(2027, 1, 1, tzinfo=UTC).timestamp() == 1798761600


def test_a_tampered_or_missing_file_refuses_the_package(emu: Emulator) -> None:
    planned = applied(emu)
    assert package(planned, "good.zip").code == 0
    before = Path("good.zip").read_bytes()
    run = next(i for i in planned.receipt_items().values()
               if i["kind"] == "run" and i["result"] == "exported")
    target = planned.export_root / run["file"]
    target.write_bytes(target.read_bytes().replace(b"{", b"{ ", 1))

    result = package(planned, "good.zip")
    assert result.code == 1
    assert "refusing to package" in result.err
    assert f"{run['address']}: {run['file']}: SHA-256" in result.err
    assert Path("good.zip").read_bytes() == before  # nothing written over it

    target.unlink()
    result = package(planned, "bad.zip")
    assert result.code == 1 and f"{run['file']}: missing" in result.err
    assert not Path("bad.zip").exists()


def test_a_file_changed_while_it_is_packed_is_caught(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    planned = applied(emu)
    run = next(i for i in planned.receipt_items().values() if i["kind"] == "run")
    (planned.export_root / run["file"]).write_bytes(b"{}\n")
    # As if the file changed after the check: packing hashes it again, and stops.
    monkeypatch.setattr("amlctl.apply.package.verify_files", lambda root, entries: [])
    result = package(planned, "out/dsr.zip")
    assert result.code == 1
    assert f"{run['file']}: changed while it was packed" in result.err
    assert list(Path("out").iterdir()) == []  # no zip, no temp file


def test_the_summary_names_no_one(emu: Emulator) -> None:
    planned = applied(emu)
    assert planned.receipt()["identity"] == APPLIER  # the identity the summary must not name
    assert package(planned, "dsr.zip").code == 0
    inside = members("dsr.zip")
    for name in ("README.txt", "contents.json", "index.json"):
        text = inside[f"{FOLDER}/{name}"].decode()
        assert APPLIER not in text and SUBJECT_OID not in text
        assert "Jane Doe" not in text and "emulator" not in text
    # Her items go in as they are: they name her.
    assert any(SUBJECT_OID.encode() in data for name, data in inside.items() if "/run/" in name)


def test_the_summary_says_what_was_not_exported_and_why(emu: Emulator) -> None:
    planned = make_plan(emu, DSR)
    # Changed after the plan: apply skips its export (and its delete).
    emu.store.patch(ws_key(WORKSPACE), "model", "fraud-detect:2",
                    {"description": "edited", "modifiedTime": "2026-11-30T10:00:00Z"})
    assert cli("apply", str(planned.path), "--endpoint", emu.origin, "--yes").code == 3
    result = package(planned, "dsr.zip")
    assert result.code == 0, result.err
    assert "1 item(s) the plan meant to export are not in the package" in result.err
    inside = members("dsr.zip")
    readme = inside[f"{FOLDER}/README.txt"].decode()
    assert (
        "  - model fraud-detect:2 (workspace demo-ws): it changed or disappeared after the "
        "plan was made; a new plan covers it" in readme
    )
    assert f"{FOLDER}/" + planned.change(f"export:{WORKSPACE}/model/fraud-detect:2")["file"] \
        not in inside


def test_what_cannot_be_packaged_is_refused(emu: Emulator, tmp_path: Path) -> None:
    planned = make_plan(emu, DSR)
    result = package(planned, "dsr.zip")
    assert result.code == 1 and "no receipt next to it; apply the plan first" in result.err
    whole = make_plan(emu, "workspace-export")  # a workspace's export: no request
    result = package(whole, "all.zip")
    assert result.code == 1 and "answers no data-subject request" in result.err
    assert cli("package", str(planned.path)).code == 1  # -o is required
    assert not list(Path().glob("*.zip"))


def test_held_back_and_missing_items_are_said_without_naming_anyone() -> None:
    def export(kind: str, item: str, action: Action, reason: str = "") -> Change:
        return Change("ws", kind, item, action, method="GET", reason=reason)

    plan = Plan(
        "0.1.0", "2026-11-21T00:00:00Z", "p", ManifestRef("p.yaml", "0" * 64),
        CatalogRef("c", "0" * 64, "workspace"), Target("azure"),
        RequestInfo("DSR-1", datetime(2026, 11, 20).date(), datetime(2026, 12, 20).date(),
                    "subject-1"),
        (WorkspaceRef("s", "rg", "ws", "eastus"),), "exports/p", None,
        changes=(
            export("model_version", "7", Action.CANDIDATE, "created by 'Jane Doe', ..."),
            export("model", "gone:1", Action.ABSENT, "export.select[0]: explicit id not found"),
            export("run", "r1", Action.UNCHANGED),
            Change("ws", "manual", "designer-data-download", Action.MANUAL,
                   reason="export step with no API", title="Export data added in the designer"),
        ),
    )
    entry = {"file": "ws/run/r1.json", "sha256": "0" * 64, "size": 2}
    chosen = select(plan, {"items": []}, {"export:ws/run/r1": entry})
    assert chosen.entries == {"export:ws/run/r1": entry} and chosen.problems == []
    text = summary(chosen, datetime(2026, 11, 22, tzinfo=UTC))
    assert "  - model gone:1 (workspace ws): asked for by its id, but no such item" in text
    assert "1 item names its creator only by a display name like" in text
    assert "model_version" not in text and "Jane Doe" not in text  # counted, never listed
    assert "  - Export data added in the designer (workspace ws):" in text
