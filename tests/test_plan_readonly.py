"""`amlctl plan` only reads: the emulator's access log shows GETs, and POSTs only to the query
lists the catalog declares as POST (run history's `:query` calls), and nothing else.

Also what the plan command promises around that: --detailed-exitcode, a bad manifest refused
with file:line diagnostics and no plan file, byte-identical plans under SOURCE_DATE_EPOCH, and
a plan file with no token and no subject identifier (only the pseudonym).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from amlctl.catalog import Catalog
from amlctl.cli import main
from amlctl.emulator.commands import embedded
from amlctl.emulator.config import EmulatorConfig
from amlctl.emulator.seed import SUBJECT
from amlctl.manifest import load_manifest
from amlctl.subject import pseudonym

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "plans" / "examples").glob("*.yaml"))
EMPTY = ROOT / "tests" / "cases" / "empty-plan" / "manifest.yaml"
EPOCH = "1795000000"


@pytest.fixture(autouse=True)
def _fixed_time(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("AMLCTL_ENDPOINT", raising=False)
    monkeypatch.chdir(tmp_path)  # export folders resolve here, never in the repository


def _plan(manifest: Path, out: Path, *args: str) -> int:
    return main(["plan", str(manifest), "-o", str(out), *args])


def _operation_patterns(catalog: Catalog) -> dict[str, list[re.Pattern[str]]]:
    """Kind -> the paths its calls reach on the emulator (`/<host>/<path>`, query left off)."""
    patterns: dict[str, list[re.Pattern[str]]] = {}
    for op in catalog.operations():
        patterns.setdefault(op.kind, []).extend(_operation_patterns_of(op.url))
    return patterns


def _operation_patterns_of(url: str) -> list[re.Pattern[str]]:
    path = url.removeprefix("https://").split("?")[0]
    parts = re.split(r"(\{[^}]+\})", path)
    regex = "/" + "".join("[^/?]+" if p.startswith("{") else re.escape(p) for p in parts)
    return [re.compile(regex)]


def _log(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("manifest", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_plan_sends_only_gets(manifest: Path, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    with embedded(None, EmulatorConfig(access_log=log)) as origin:
        code = _plan(manifest, tmp_path / "plan.json", "--endpoint", origin, "--format", "json")
    assert code == 0
    entries = _log(log)
    assert entries, "the plan reached the server at least once"
    loaded, catalog = load_manifest(manifest)
    queries = [
        re.compile(rx.pattern)
        for op in catalog.operations()
        if op.name == "list" and op.method == "POST"
        for rx in _operation_patterns_of(op.url)
    ]
    writes = [
        (e["method"], e["path"])
        for e in entries
        if e["method"] != "GET"
        and not (e["method"] == "POST" and any(rx.fullmatch(e["path"]) for rx in queries))
    ]
    assert not writes, writes
    patterns = _operation_patterns(catalog)
    paths = [e["path"].split("?")[0] for e in entries]
    known = [rx for rxs in patterns.values() for rx in rxs]
    strays = [p for p in paths if not any(rx.fullmatch(p) for rx in known)]
    assert not strays, f"requests that are no catalog call: {strays}"
    for kind in sorted({s.kind for s in (*loaded.export, *loaded.delete)}):
        read = catalog.kind(kind)
        if read.from_field and read.parent:  # read off its parent (a run's tags)
            kind = read.parent
        hits = [p for p in paths if any(rx.fullmatch(p) for rx in patterns[kind])]
        assert hits, f"no request for {kind} reached the emulator"


def test_detailed_exitcode(tmp_path: Path) -> None:
    """2 when the plan has changes, 0 when it has none (manual steps are not changes)."""
    changes = ROOT / "plans" / "examples" / "workspace-export.yaml"
    assert _plan(changes, tmp_path / "a.json", "--emulator", "--detailed-exitcode") == 2
    assert _plan(EMPTY, tmp_path / "b.json", "--emulator", "--detailed-exitcode") == 0
    assert json.loads((tmp_path / "b.json").read_text())["summary"]["manual"] > 0
    # without the flag, a plan with changes is a success like any other
    assert _plan(changes, tmp_path / "c.json", "--emulator") == 0


def test_bad_manifest_gives_diagnostics_and_no_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    text = (ROOT / "plans" / "examples" / "workspace-export.yaml").read_text(encoding="utf-8")
    bad.write_text(text.replace("{kind: compute, all: true}", "{kind: compte, all: true}"))
    line = next(n for n, t in enumerate(bad.read_text().splitlines(), 1) if "compte" in t)
    code = _plan(Path("bad.yaml"), tmp_path / "plan.json", "--emulator", "--detailed-exitcode")
    out = capsys.readouterr()
    assert code == 1
    assert re.search(
        rf"^bad\.yaml:{line}:\d+: error: \$\.export\.select\[1\]\.kind: unknown kind 'compte'"
        r".*did you mean 'compute'",
        out.out + out.err,
        re.MULTILINE,
    ), out
    assert not (tmp_path / "plan.json").exists()


@pytest.mark.parametrize("manifest", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_same_state_same_bytes(manifest: Path, tmp_path: Path) -> None:
    assert _plan(manifest, tmp_path / "one.json", "--emulator") == 0
    assert _plan(manifest, tmp_path / "two.json", "--emulator") == 0
    assert (tmp_path / "one.json").read_bytes() == (tmp_path / "two.json").read_bytes()


def test_no_token_and_no_subject_identifiers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Neither the plan file nor what plan prints holds a token or who the subject is."""
    dsr = ROOT / "plans" / "examples" / "dsr-export-erase.yaml"
    loaded, _ = load_manifest(dsr)
    assert loaded.request is not None
    subject = loaded.request.subject
    assert subject.user_object_id == SUBJECT.object_id and subject.user_name == SUBJECT.name
    shown = []
    for fmt in ("text", "markdown", "json"):
        assert _plan(dsr, tmp_path / "dsr.plan.json", "--emulator", "--format", fmt) == 0
        shown.append(capsys.readouterr().out)
    saved = (tmp_path / "dsr.plan.json").read_text(encoding="utf-8")
    doc = json.loads(saved)
    assert doc["summary"]["export"] > 0 and doc["summary"]["delete"] > 0
    assert doc["request"]["subject"] == {"pseudonym": pseudonym(loaded.request)}
    for text in (saved, *shown):
        lowered = text.lower()
        for secret in ("amlctl-emulator", "bearer", "authorization"):
            assert secret not in lowered
        assert SUBJECT.object_id.lower() not in lowered
        assert SUBJECT.name.lower() not in lowered
        assert "jane" not in lowered
    assert pseudonym(loaded.request) in shown[0] and pseudonym(loaded.request) in shown[1]


def test_plan_tunes_the_cycle_collector_only_while_it_plans(tmp_path: Path) -> None:
    import gc

    from amlctl.commands.planning import fewer_collections

    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold()[0] >= 10_000 and gc.get_freeze_count() > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    manifest = ROOT / "plans" / "examples" / "workspace-export.yaml"
    with embedded(None, EmulatorConfig()) as origin:
        assert _plan(manifest, tmp_path / "plan.json", "--endpoint", origin) == 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
