"""Hostile server data end to end: items whose ids and names carry path tricks, terminal escapes,
Windows device names and 300 characters. Plan and apply (export and delete them) end cleanly,
write only under the export folder with portable names, and print no server text raw."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from amlctl.emulator import documents, open_store
from amlctl.emulator.seed import SCALE_RESOURCE_GROUP, SCALE_WORKSPACE, SUBSCRIPTION
from tests.torture.harness import MANIFEST, PLAN, Setup, apply_args, emulator, plan, run

# Names that fill one URL path segment, yet make trouble as file names or on a terminal.
HOSTILE = [
    "aux", "CON.txt", "com1.log", "trailing. ", "dots...", "x" * 300, "%2e%2e", "\u202eevil.exe",
    "\u2025confusable", "semi;colon", "quote\"s", "star*", "q?mark", "pipe|", "lt<gt>",
]
# Ids no URL segment can hold: planning refuses them, naming the item, before any request.
UNSAFE = ["../../escape", "a/b", "back\\slash", "esc\x1b[2Jclear", "bell\x07"]
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\.|$)", re.IGNORECASE)


def _seed(folder: Path, names: list[str]) -> Path:
    folder.mkdir(parents=True)
    db = folder / "seed.db"
    store = open_store(db, "scale:4")
    try:
        ws = store.get_workspace(SUBSCRIPTION, SCALE_RESOURCE_GROUP, SCALE_WORKSPACE)
        assert ws is not None
        for n, name in enumerate(names):
            model = documents.model(name, 1, None, None, n, "ScikitLearn", f"desc {name}")
            store.put(ws.key, "model", model["id"], model)
    finally:
        store.close()
    return db


def test_hostile_ids_and_names_end_cleanly_confined_and_escaped(tmp_path: Path) -> None:
    setup = Setup(_seed(tmp_path / "seed", HOSTILE), latency_ms=0)
    work = tmp_path / "work"
    work.mkdir()
    with emulator(work, setup) as (origin, _app):
        plan(work, origin)
        shown = run(work, "show", str(PLAN))
        applied = run(work, *apply_args(origin, setup))
        again = run(work, *apply_args(origin, setup))
    for done in (shown, applied, again):
        assert "Traceback" not in done.stderr and "amlctl-crash-" not in done.stderr, done.stderr
        assert "\x1b" not in done.stdout + done.stderr and "\x07" not in done.stdout + done.stderr
    assert applied.returncode in (0, 3), applied.stderr
    root = (work / "exports").resolve()
    files = [p for p in root.rglob("*") if p.is_file()]
    assert len(files) > len(HOSTILE)  # the hostile models were exported, not dropped
    for path in files:
        assert path.resolve().is_relative_to(root)
        name = path.name
        assert len(name.encode()) <= 255 and not _RESERVED.match(name), name
        assert not name.endswith((".", " ")) and not any(ord(c) < 32 for c in name), name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seed", "work"]  # nothing escaped
    shutil.rmtree(work / "exports")


def test_an_id_no_url_segment_can_hold_stops_the_plan_cleanly(tmp_path: Path) -> None:
    for n, name in enumerate(UNSAFE):
        setup = Setup(_seed(tmp_path / f"seed-{n}", [name]), latency_ms=0)
        work = tmp_path / f"work-{n}"
        work.mkdir()
        with emulator(work, setup) as (origin, _app):
            (work / "torture.yaml").write_text(MANIFEST)
            done = run(work, "plan", "torture.yaml", "--endpoint", origin)
        assert done.returncode == 1, done.stderr
        assert "one value must fill exactly one path segment" in done.stderr
        assert "Traceback" not in done.stderr and "\x1b" not in done.stderr + done.stdout
        assert not (work / "plans").exists() or not list((work / "plans").iterdir())
