"""The store and the seeds: persistence across restarts, determinism, scale, the Python API."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from amlctl.emulator import EmulatorApp, open_store
from amlctl.emulator.seed import (
    DEMO_EU_WS_KEY,
    DEMO_WS_KEY,
    SCALE_RESOURCE_GROUP,
    SCALE_WORKSPACE,
    SUBJECT_OBJECT_ID,
    SUBJECT_RUN_IDS,
    SUBSCRIPTION,
    apply_seed,
    parse_seed,
)
from amlctl.emulator.server import running_server
from amlctl.emulator.store import Store, workspace_key
from amlctl.errors import UsageError

from .conftest import MMS, MMS_V, WS_PATH, Emu


def test_state_persists_across_a_restart(db_path: Path) -> None:
    store = open_store(db_path, "demo")
    app = EmulatorApp(store)
    with running_server(app) as server:
        emu = Emu(server.origin, app, store, __import__("requests").Session())
        emu.session.headers["Authorization"] = "Bearer amlctl-emulator"
        assert emu.delete(MMS, f"/api{WS_PATH}/models/fraud-detect%3A2", MMS_V).status_code == 200
        emu.session.close()
    store.close()
    reopened = open_store(db_path, "demo")  # not empty, so not re-seeded
    try:
        assert reopened.get(DEMO_WS_KEY, "model", "fraud-detect:2") is None
        assert reopened.get(DEMO_WS_KEY, "model", "churn-model:1") is not None
        assert reopened.meta("seed") == "demo"
    finally:
        reopened.close()
    mode = sqlite3.connect(db_path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def _dump(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT ws, kind, id, parent, doc, content, etag, created FROM items "
                          "ORDER BY ws, kind, id").fetchall()
        return rows + db.execute("SELECT * FROM workspaces ORDER BY key").fetchall()


@pytest.mark.parametrize("seed", ["demo", "scale:300"])
def test_seeds_are_deterministic(tmp_path: Path, seed: str) -> None:
    for name in ("a", "b"):
        open_store(tmp_path / f"{name}.sqlite3", seed).close()
    assert _dump(tmp_path / "a.sqlite3") == _dump(tmp_path / "b.sqlite3")


def test_demo_seed_has_the_subject_in_both_workspaces(tmp_path: Path) -> None:
    store = open_store(tmp_path / "demo.sqlite3", "demo")
    try:
        for key in (DEMO_WS_KEY, DEMO_EU_WS_KEY):
            runs = [r.doc for r in store.page(key, "run", parent="churn-model")] + [
                r.doc for r in store.page(key, "run", parent="churn-eu")]
            users = {r["createdBy"]["userObjectId"] for r in runs}
            assert SUBJECT_OBJECT_ID in users and len(users) >= 2
        assert {w.location for w in store.list_workspaces()} == {"eastus", "westeurope"}
        assert all(store.get(DEMO_WS_KEY, "run", r) or store.get(DEMO_EU_WS_KEY, "run", r)
                   for r in SUBJECT_RUN_IDS)
    finally:
        store.close()


def test_scale_seed_is_proportional_and_fast(tmp_path: Path) -> None:
    store = open_store(tmp_path / "scale.sqlite3", "scale:2000")
    try:
        counts = store.counts(workspace_key(SUBSCRIPTION, SCALE_RESOURCE_GROUP, SCALE_WORKSPACE))
        assert counts["run"] == 2000 and counts["metric"] == 4000
        assert counts["artifact"] == 2000 and counts["experiment"] == 20
        assert counts["model"] == counts["asset"] == 100
        assert counts["image"] == counts["service"] == 20
    finally:
        store.close()


def test_seeds_apply_only_to_an_empty_store(tmp_path: Path) -> None:
    store = open_store(tmp_path / "none.sqlite3", "none")
    try:
        assert store.is_empty() and store.list_workspaces() == []
        apply_seed(store, "demo")
        count = store.count(DEMO_WS_KEY)
        apply_seed(store, "scale:10")  # ignored: not empty
        assert store.count(DEMO_WS_KEY) == count and len(store.list_workspaces()) == 2
    finally:
        store.close()


@pytest.mark.parametrize("spec", ["", "scale", "scale:0", "scale:x", "Demo", "scale:-1"])
def test_bad_seed_specs_are_usage_errors(spec: str) -> None:
    with pytest.raises(UsageError, match="seed"):
        parse_seed(spec)


def test_patch_changes_an_item_and_its_etag(tmp_path: Path) -> None:
    store = open_store(tmp_path / "p.sqlite3", "demo")
    try:
        before = store.get(DEMO_WS_KEY, "model", "churn-model:1")
        assert before is not None
        after = store.patch(DEMO_WS_KEY, "model", "churn-model:1",
                            {"description": "changed", "modifiedTime": "2025-01-01T00:00:00Z"})
        assert after.doc["description"] == "changed" and after.etag != before.etag
        assert after.created == before.created
        with pytest.raises(KeyError):
            store.patch(DEMO_WS_KEY, "model", "nope:1", {})
    finally:
        store.close()


def test_store_api_round_trip(tmp_path: Path) -> None:
    store = Store(tmp_path / "api.sqlite3")
    try:
        ws = "sub/rg/ws"
        store.put(ws, "model", "m:1", {"id": "m:1", "createdTime": "t"}, content=b"bytes")
        assert store.count(ws, "model") == 1 and store.content(ws, "model", "m:1") == b"bytes"
        assert store.get(ws, "model", "m:1").created == "t"  # type: ignore[union-attr]
        assert store.delete(ws, "model", "m:1") and not store.delete(ws, "model", "m:1")
    finally:
        store.close()
