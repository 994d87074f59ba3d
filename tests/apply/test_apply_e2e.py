"""`amlctl apply` end to end on the loopback emulator: confirmation, exactly-the-plan deletes,
stale items, the plan lock, no re-apply, export files and index, verify, workspace teardown.

Every test plans an example manifest in a temp folder against an emulator running in this
process, then applies it through the real CLI (in this process, in a child process, or in a
child on a pseudo-terminal), and checks what reached the server through its access log.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from apply_helpers import (
    DSR,
    FULL_EXPORT,
    TEARDOWN,
    TOKEN,
    Emulator,
    Planned,
    cli,
    copy_manifest,
    emulator,
    log_path_of,
    make_plan,
    run_child,
    run_in_pty,
    temp_leftovers,
    ws_key,
)

from amlctl.apply.journal import PlanLock
from amlctl.catalog import load_catalog
from amlctl.emulator.seed import (
    RESOURCE_GROUP,
    SUBJECT_MODEL_IDS,
    SUBSCRIPTION,
    WORKSPACE,
    WORKSPACE_EU,
)

RIGHT_NAMES = f"{WORKSPACE} {WORKSPACE_EU}"  # the DSR plan deletes in both demo workspaces
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def apply_yes(planned: Planned, emu: Emulator, *more: str) -> Any:
    return cli("apply", str(planned.path), "--endpoint", emu.origin, "--yes", *more)


def all_counts(emu: Emulator) -> dict[str, dict[str, int]]:
    return {ws: emu.store.counts(ws_key(ws)) for ws in (WORKSPACE, WORKSPACE_EU)}


# -- confirmation -----------------------------------------------------------------------------


def test_wrong_workspace_name_on_a_terminal_changes_nothing_the_right_one_applies(
    work: Path, emu: Emulator
) -> None:
    planned = make_plan(emu, DSR)
    mark = emu.mark()
    args = ("apply", str(planned.path), "--endpoint", emu.origin)
    for wrong in ("yes", WORKSPACE):  # `yes` is for export-only plans; one name of two
        code, output, prompted = run_in_pty(args, wrong)
        assert prompted, output
        assert f"to confirm ({RIGHT_NAMES})" in output
        assert code == 1, output
        assert "did not match; nothing was changed" in output
        assert [e for e in emu.log(mark) if e["method"] == "DELETE"] == []
        assert emu.log(mark) == []  # not even a read: the checks and the prompt come first
        assert not planned.export_root.exists()
        # A refused run leaves no trace in the evidence: the journal starts with the run
        # that was confirmed.
        assert not planned.journal_path.exists() or planned.journal() == []

    code, output, prompted = run_in_pty(args, RIGHT_NAMES)
    assert prompted and code == 0, output
    assert "Apply complete" in output
    deleted = Counter(e["path"] for e in emu.deletes(mark))
    assert deleted == Counter(log_path_of(c["url"]) for c in planned.deletes)
    assert len(list(planned.export_root.rglob("*.json"))) == len(planned.exports) + 1  # + index


def test_export_only_plan_wants_exactly_yes(work: Path, emu: Emulator) -> None:
    planned = make_plan(emu, FULL_EXPORT)
    assert planned.deletes == []
    args = ("apply", str(planned.path), "--endpoint", emu.origin)
    mark = emu.mark()
    code, output, prompted = run_in_pty(args, "y", prompt=b"Only 'yes' will be accepted")
    assert prompted and code == 1, output
    assert emu.log(mark) == [] and not planned.export_root.exists()
    code, output, prompted = run_in_pty(args, "yes", prompt=b"Only 'yes' will be accepted")
    assert prompted and code == 0, output
    assert {e["method"] for e in emu.log(mark)} == {"GET"}


def test_no_terminal_and_no_yes_is_refused_at_once(work: Path, emu: Emulator) -> None:
    planned = make_plan(emu, DSR)
    mark = emu.mark()
    result = run_child("apply", str(planned.path), "--endpoint", emu.origin, timeout=30)
    assert result.code == 1, result.text
    assert "apply needs a confirmation: run it in a terminal, or pass --yes" in result.err
    assert emu.log(mark) == []
    assert not planned.export_root.exists()


def test_yes_with_a_manifest_is_refused(work: Path, emu: Emulator) -> None:
    manifest = copy_manifest(DSR, work)
    result = cli("apply", manifest.name, "--yes", "--endpoint", emu.origin)
    assert result.code == 1
    assert "--yes applies only to a saved plan file that was reviewed" in result.err
    assert emu.log() == []  # refused before planning: not a single request
    assert not Path("plans").exists()


# -- exactly the plan -------------------------------------------------------------------------


def test_deletes_exactly_the_planned_items_and_not_a_new_matching_one(
    work: Path, emu: Emulator
) -> None:
    planned = make_plan(emu, DSR)
    ws = ws_key(WORKSPACE)
    # A model registered from the subject's run after the plan: matches `subject: true`.
    template = emu.store.get(ws, "model", SUBJECT_MODEL_IDS[1])
    assert template is not None
    newcomer = {**template.doc, "id": "churn-model:3", "version": 3, "description": "new"}
    emu.store.put(ws, "model", "churn-model:3", newcomer)
    before = all_counts(emu)
    mark = emu.mark()

    result = apply_yes(planned, emu)

    assert result.code == 0, result.text
    log = emu.log(mark)
    deletes = [e for e in log if e["method"] == "DELETE"]
    assert Counter(e["path"] for e in deletes) == Counter(
        log_path_of(c["url"]) for c in planned.deletes
    )
    assert all(e["status"] == 200 for e in deletes)
    after = all_counts(emu)
    for workspace in (WORKSPACE, WORKSPACE_EU):
        planned_kinds = Counter(c["kind"] for c in planned.deletes if c["workspace"] == workspace)
        dropped = {
            kind: n - after[workspace].get(kind, 0)
            for kind, n in before[workspace].items()
            if n != after[workspace].get(kind, 0)
        }
        assert dropped == dict(planned_kinds)
    # The newcomer is untouched: not deleted, not even read.
    assert emu.store.get(ws, "model", "churn-model:3") is not None
    assert not [e for e in log if "churn-model:3" in e["path"]]
    # Each delete went out only after every delete the plan orders before it: images before
    # the models in them (else 412 DeletionRequired), services before their images.
    sent = {e["path"]: i for i, e in enumerate(deletes)}
    by_address = {c["address"]: c for c in planned.deletes}
    ordered = [c for c in planned.deletes if c["after"]]
    assert {c["kind"] for c in ordered} >= {"model", "image"}
    for change in ordered:
        for before in change["after"]:
            assert sent[log_path_of(by_address[before]["url"])] < sent[log_path_of(change["url"])]
    # The receipt names each delete with the request id the server logged for it.
    items = planned.receipt_items()
    logged = {e["path"]: e["requestId"] for e in deletes}
    for change in planned.deletes:
        item = items[change["address"]]
        assert (item["result"], item["status"]) == ("deleted", 200)
        assert item["request_id"] == logged[log_path_of(change["url"])]
    assert planned.receipt()["complete"] is True


def test_item_changed_since_plan_is_skipped_and_reported(work: Path, emu: Emulator) -> None:
    planned = make_plan(emu, DSR)
    ws = ws_key(WORKSPACE)
    stale = "fraud-detect:2"
    # An update as the service makes it: the new description, and the modified time it stamps
    # (the model's version fields are its id, version and modifiedTime).
    emu.store.patch(
        ws,
        "model",
        stale,
        {
            "description": "edited after the plan",
            "modifiedTime": "2026-11-30T10:00:00.0000000+00:00",
        },
    )
    mark = emu.mark()

    result = apply_yes(planned, emu)

    assert result.code == 3, result.text
    stale_addresses = {f"export:{WORKSPACE}/model/{stale}", f"delete:{WORKSPACE}/model/{stale}"}
    items = planned.receipt_items()
    for address in stale_addresses:
        assert items[address]["result"] == "skipped"
        assert items[address]["detail"].startswith("changed-since-plan")
        assert re.search(rf"skipped\s+{re.escape(address)}\s+\(changed-since-plan", result.out)
    for address, item in items.items():
        if address not in stale_addresses:
            assert item["result"] == ("exported" if item["action"] == "export" else "deleted")
    assert "Apply finished with items left" in result.out
    model = emu.store.get(ws, "model", stale)
    assert model is not None and model.doc["description"] == "edited after the plan"
    stale_url = log_path_of(planned.change(f"delete:{WORKSPACE}/model/{stale}")["url"])
    assert not [e for e in emu.deletes(mark) if e["path"] == stale_url]
    stale_file = planned.change(f"export:{WORKSPACE}/model/{stale}")["file"]
    assert not (planned.export_root / stale_file).exists()
    index = json.loads((planned.export_root / "index.json").read_text())["items"]
    assert not stale_addresses & set(index)
    assert planned.receipt()["summary"]["skipped"] == 2


# -- the lock and a finished plan -------------------------------------------------------------


def test_second_apply_is_refused_at_once_naming_the_holder(work: Path, emu: Emulator) -> None:
    planned = make_plan(emu, DSR)
    mark = emu.mark()
    holder = f"being applied by pid {os.getpid()}"
    with PlanLock(planned.path, planned.digest):
        here = apply_yes(planned, emu)
        child = run_child("apply", str(planned.path), "--endpoint", emu.origin, "--yes")
        code, output, prompted = run_in_pty(
            ("apply", str(planned.path), "--endpoint", emu.origin), RIGHT_NAMES
        )
    assert here.code == 1 and holder in here.err
    assert child.code == 1 and holder in child.err
    # On a terminal too it is refused before anyone is asked to confirm anything.
    assert code == 1 and holder in output
    assert not prompted, output
    assert emu.log(mark) == []
    assert not planned.export_root.exists()
    # The holder owns the journal: a refused apply must not write (or even create) it.
    assert not planned.journal_path.exists()
    # Once the holder is gone the same command applies.
    assert apply_yes(planned, emu).code == 0


def test_an_applied_plan_is_not_applied_again(work: Path, emu: Emulator) -> None:
    planned = make_plan(emu, DSR)
    assert apply_yes(planned, emu).code == 0
    journal = planned.journal_path.read_bytes()
    receipt = planned.receipt()
    mark = emu.mark()

    again = apply_yes(planned, emu)

    assert again.code == 0  # nothing left to do: a retry loop around apply ends
    assert "was already applied, completely" in again.err and "nothing left to do" in again.err
    assert emu.log(mark) == []
    assert planned.journal_path.read_bytes() == journal
    assert planned.receipt() == receipt


# -- export files -----------------------------------------------------------------------------


def only_api_version(url: str) -> str:
    split = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(split.query) if k == "api-version"]
    return urlunsplit(split._replace(query=urlencode(kept)))


def served_item(session: requests.Session, emu: Emulator, change: dict[str, Any]) -> Any:
    """The item as the emulator serves it now: its get call, or its entry in its list."""
    kind = load_catalog("azureml-2019-11-01").kind(change["kind"])
    reply = session.get(emu.origin + log_path_of(change["url"]), timeout=10)
    assert reply.status_code == 200
    body = reply.json()
    if kind.can("get"):
        return body
    assert not body.get("nextLink") and not body.get("continuationToken")  # one page
    return next(item for item in body["value"] if item[kind.id_field] == change["id"])


def test_export_files_match_what_was_served_with_private_modes_and_an_index(
    work: Path, emu: Emulator
) -> None:
    planned = make_plan(emu, FULL_EXPORT)
    mark = emu.mark()
    assert apply_yes(planned, emu).code == 0
    log = emu.log(mark)
    root = planned.export_root
    index = json.loads((root / "index.json").read_text(encoding="utf-8"))
    entries = index["items"]
    assert set(entries) == {c["address"] for c in planned.exports}
    kinds = Counter(c["kind"] for c in planned.exports)
    assert kinds["artifact"] and kinds["datastore"] and kinds["workspace"]

    session = requests.Session()
    session.trust_env = False
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    listed: set[str] = set()
    for change in planned.exports:
        entry = entries[change["address"]]
        assert entry["file"] == change["file"]
        data = (root / entry["file"]).read_bytes()
        assert (hashlib.sha256(data).hexdigest(), len(data)) == (entry["sha256"], entry["size"])
        # The source URL keeps only api-version from the query (no SAS, no other parameter).
        assert entry["source_url"] == only_api_version(change["url"])
        assert _TIMESTAMP.fullmatch(entry["exported_at"])
        assert entry["fingerprint"] == change["fingerprint"]
        # The request id is the one the server logged answering the read of this item.
        assert entry["request_id"] in {
            e["requestId"]
            for e in log
            if e["method"] == "GET" and e["path"] == log_path_of(change["url"])
        }
        exported = json.loads(data)
        served = served_item(session, emu, change)
        if change["kind"] == "artifact":
            uri = urlsplit(served["contentUri"])
            assert uri.query  # served with a SAS, at the emulator's address ...
            host_and_path = uri.path.lstrip("/")  # routed form: /<azure host>/<path>
            # ... exported as the https URL it stands for, without the SAS
            served["contentUri"] = f"https://{host_and_path}"
            stored = emu.store.content(ws_key(WORKSPACE), "artifact", change["id"].split("/", 1)[1])
            content = (root / entry["content_file"]).read_bytes()
            assert stored is not None and content == stored
            assert entry["content_file"] == entry["file"].removesuffix(".json") + ".content"
            assert entry["content_sha256"] == hashlib.sha256(content).hexdigest()
            assert entry["content_size"] == len(content)
        if change["kind"] == "compute":
            # A compute's get carries live node counts that move as the cluster scales: two
            # reads differ there, and only there.
            for live in ("allocationState", "allocationStateTransitionTime", "currentNodeCount",
                         "targetNodeCount", "nodeStateCounts"):
                exported["properties"]["properties"].pop(live)
                served["properties"]["properties"].pop(live)
        assert exported == served, change["address"]
        listed |= {entry["file"], entry.get("content_file") or entry["file"]}

    # Nothing else was written, and nothing half-written was left behind.
    written = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert written == listed | {"index.json"}
    assert temp_leftovers(root) == []
    # Private: files 0600 in folders 0700, the export folder itself included.
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    for path in root.rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path
    # Datastores are exported without secrets: no seeded secret appears in any file.
    datastores = [c for c in planned.exports if c["kind"] == "datastore"]
    assert len(datastores) == 4
    for change in datastores:
        assert "includeSecret=false" in change["url"]
        raw = emu.store.get(ws_key(WORKSPACE), "datastore", change["id"])
        assert raw is not None and "FAKE-" in raw.raw  # the store does hold a secret
    for path in root.rglob("*"):
        if path.is_file():
            assert b"FAKE-" not in path.read_bytes(), path
    # The index's own hashes agree with `verify`.
    result = cli("verify", str(planned.path), "--endpoint", emu.origin, "--manual-done", "all")
    assert result.code == 0, result.text


# -- verify -----------------------------------------------------------------------------------


def test_verify_passes_then_fails_on_tampering_and_on_a_recreated_item(
    work: Path, emu: Emulator
) -> None:
    planned = make_plan(emu, DSR)
    ws = ws_key(WORKSPACE)
    model_id = SUBJECT_MODEL_IDS[0]
    saved = emu.store.get(ws, "model", model_id)
    assert saved is not None
    assert apply_yes(planned, emu).code == 0
    verify = ("verify", str(planned.path), "--endpoint", emu.origin, "--manual-done", "all")

    ok = cli(*verify)
    assert ok.code == 0, ok.text
    assert f"{len(planned.deletes)} deleted item(s) gone" in ok.out
    assert f"{len(planned.exports)} exported file(s) match" in ok.out

    index = json.loads((planned.export_root / "index.json").read_text())["items"]
    artifact = next(a for a, e in index.items() if e.get("content_file"))
    for name in (index[artifact]["file"], index[artifact]["content_file"]):
        path = planned.export_root / name
        original = path.read_bytes()
        path.write_bytes(original + b"\n")
        tampered = cli(*verify)
        assert tampered.code == 1
        assert f"{artifact}: {name}: size" in tampered.out
        assert f"{artifact}: {name}: SHA-256" in tampered.out
        path.write_bytes(original)
        assert cli(*verify).code == 0

    emu.store.put(ws, "model", model_id, saved.doc)
    recreated = cli(*verify)
    assert recreated.code == 1
    assert f"delete:{WORKSPACE}/model/{model_id}: still exists" in recreated.out


# -- workspace teardown -----------------------------------------------------------------------


def test_workspace_teardown_polls_the_delete_to_succeeded(work: Path, tmp_path: Path) -> None:
    with emulator(tmp_path / "emu", lro_polls=2) as emu:
        planned = make_plan(emu, TEARDOWN)
        untouched = emu.store.counts(ws_key(WORKSPACE))
        mark = emu.mark()

        result = apply_yes(planned, emu)

        assert result.code == 0, result.text
        log = emu.log(mark)
        workspace = next(c for c in planned.deletes if c["kind"] == "workspace")
        deletes = [e for e in log if e["method"] == "DELETE"]
        assert Counter(e["path"] for e in deletes) == Counter(
            log_path_of(c["url"]) for c in planned.deletes
        )
        # The workspace goes last, after every export and every other delete.
        assert deletes[-1]["path"] == log_path_of(workspace["url"])
        assert deletes[-1]["status"] == 202
        first_delete = log.index(deletes[0])
        assert all(e["method"] == "GET" for e in log[:first_delete])
        # Polled through the operation until it ended: lro_polls InProgress, then Succeeded.
        after = log[log.index(deletes[-1]) :]
        polls = [e for e in after if "workspaceOperationsStatus" in e["path"]]
        assert len(polls) == 3 and all(e["status"] == 200 for e in polls)
        item = planned.receipt_items()[workspace["address"]]
        assert item["result"] == "deleted"
        assert item["detail"] == "long-running delete succeeded"
        assert item["request_id"] == deletes[-1]["requestId"]
        assert emu.store.get_workspace(SUBSCRIPTION, RESOURCE_GROUP, WORKSPACE_EU) is None
        assert emu.store.count(ws_key(WORKSPACE_EU)) == 0
        assert emu.store.counts(ws_key(WORKSPACE)) == untouched
        verify = cli("verify", str(planned.path), "--endpoint", emu.origin, "--manual-done", "all")
        assert verify.code == 0, verify.text


# -- secrets ----------------------------------------------------------------------------------


def test_no_token_or_signature_reaches_any_file_apply_writes(work: Path, emu: Emulator) -> None:
    """The plan, journal, receipts, export files and index hold neither the bearer token nor a
    SAS signature (artifact links are served with `sig=`), nor the subject's identifiers in
    anything a reviewer reads (plan and receipts show the pseudonym)."""
    planned = make_plan(emu, DSR)
    assert apply_yes(planned, emu).code == 0
    written = [p for p in work.rglob("*") if p.is_file() and p.suffix != ".yaml"]
    assert any(p.suffix == ".content" for p in written)  # the artifact bytes were exported
    for path in written:
        data = path.read_bytes()
        assert TOKEN.encode() not in data and b"Bearer" not in data, path
        assert b"sig=" not in data and b"sv=" not in data, path
    receipts = list(planned.path.parent.glob("*.receipt.*"))
    assert len(receipts) == 2  # JSON and Markdown
    for path in [planned.path, planned.journal_path, *receipts]:
        text = path.read_text()
        assert "8b0c2f4e-0000-4000-8000-000000000042" not in text, path
        assert "Jane Doe" not in text, path
