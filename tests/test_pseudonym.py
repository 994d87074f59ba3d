"""The subject's pseudonym is keyed: whoever holds a plan cannot test candidate object ids
against it, and the key lives in the user's state folder, never in a plan or a repository."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import pytest

from amlctl.cli import main
from amlctl.manifest import Request, load_manifest
from amlctl.subject import pseudonym
from amlctl.userstate import KEY_FILE_ENV, state_dir

ROOT = Path(__file__).resolve().parents[1]
DSR = ROOT / "plans" / "examples" / "dsr-export-erase.yaml"


def _request() -> Request:
    manifest, _ = load_manifest(DSR)
    assert manifest.request is not None and manifest.request.subject.user_object_id
    return manifest.request


def test_a_plan_holder_cannot_recompute_the_pseudonym() -> None:
    """The defect: a plain SHA-256 of request id and object id, both known to a reviewer
    with a list of the tenant's users."""
    request = _request()
    who = request.subject.user_object_id.lower()
    plain = hashlib.sha256(f"{request.id}\x00{who}".encode()).hexdigest()[:12]
    assert pseudonym(request) != f"subject-{plain}"
    assert pseudonym(request).startswith("subject-") and len(pseudonym(request)) == 20


def test_same_key_same_pseudonym_other_key_other_pseudonym() -> None:
    request = _request()
    assert pseudonym(request, b"k" * 32) == pseudonym(request, b"k" * 32)
    assert pseudonym(request, b"k" * 32) != pseudonym(request, b"j" * 32)


def test_without_a_named_key_one_is_made_private_in_the_state_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(KEY_FILE_ENV)
    request = _request()
    first = pseudonym(request)
    key = state_dir() / "pseudonym.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert pseudonym(request) == first  # kept, not made anew
    key.write_text("ab" * 32 + "\n")
    assert pseudonym(request) != first  # another key, another pseudonym


def test_the_key_reaches_no_plan_and_no_comment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(KEY_FILE_ENV)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "dsr.plan.json"
    assert main(["plan", str(DSR), "-o", str(out), "--emulator", "--format", "markdown"]) == 0
    comment = capsys.readouterr().out
    key = (state_dir() / "pseudonym.key").read_text().strip()
    saved = out.read_text()
    assert key not in saved and key not in comment
    assert json.loads(saved)["request"]["subject"]["pseudonym"] == pseudonym(_request())


@pytest.mark.parametrize("content", ["", "not hex at all, not hex at all, not hex", "abcd"])
def test_a_bad_key_file_is_a_clean_error_naming_it(
    content: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = tmp_path / "team.key"
    bad.write_text(content)
    monkeypatch.setenv(KEY_FILE_ENV, str(bad))
    monkeypatch.chdir(tmp_path)
    assert main(["plan", str(DSR), "-o", str(tmp_path / "p.json"), "--emulator"]) == 1
    err = capsys.readouterr().err
    assert f"{bad}: " in err and "pseudonym key" in err and "Traceback" not in err
    assert not (tmp_path / "p.json").exists()
