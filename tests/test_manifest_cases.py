"""Manifest validation: the golden corpus of invalid manifests, the valid ones, and the model.

Each `manifests/invalid/<case>.yaml` has a golden `<case>.expected`: the exact stdout of
`amlctl validate <case>.yaml` run from that folder. Regenerate after a deliberate message change
with `AMLCTL_UPDATE_GOLDEN=1 pytest tests/test_manifest_cases.py`, then review the diff.
Cases that would be awkward to commit (a file over 1 MiB, bytes that are not UTF-8) are built
in tmp_path by the tests below.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from pathlib import Path

import pytest

from amlctl.cli import main
from amlctl.errors import ManifestError
from amlctl.manifest import Condition, Selector, Subject, Workspace, load_manifest
from amlctl.manifest.load import one_month_after
from amlctl.yamlio import MAX_BYTES

HERE = Path(__file__).resolve().parent
INVALID = HERE / "manifests" / "invalid"
VALID = HERE / "manifests" / "valid"
EXAMPLES = HERE.parent / "plans" / "examples"
UPDATE_GOLDEN = os.environ.get("AMLCTL_UPDATE_GOLDEN") == "1"

INVALID_CASES = sorted(path.name for path in INVALID.glob("*.yaml"))
VALID_MANIFESTS = sorted(VALID.glob("*.yaml")) + sorted(EXAMPLES.glob("*.yaml"))

SMALL_VALID = """\
version: 1
name: generated
workspaces:
  - subscriptionId: 6a3c9f1e-2b4d-4c8a-9e1f-0123456789ab
    resourceGroup: demo-rg
    workspace: demo-ws
    location: eastus
export:
  to: exports/generated
  select:
    - {kind: model, all: true}
"""


def _validate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["validate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _assert_refused(code: int, out: str, err: str, name: str) -> None:
    """Exit 1, no traceback, every stdout line a diagnostic of `name`, and the count on stderr."""
    assert code == 1
    assert "Traceback" not in out + err
    assert "internal error" not in err
    lines = out.splitlines()
    assert lines, "a refused manifest must print at least one problem"
    pattern = re.compile(rf"^{re.escape(name)}:[1-9]\d*:[1-9]\d*: error: \$\S*: \S.*$")
    for line in lines:
        assert pattern.match(line), line
    plural = "" if len(lines) == 1 else "s"
    assert f"{len(lines)} problem{plural} found" in err


# --- the golden corpus ------------------------------------------------------------------------


def test_corpus_is_large_and_complete() -> None:
    assert len(INVALID_CASES) >= 35
    goldens = {path.name.removesuffix(".expected") for path in INVALID.glob("*.expected")}
    cases = {name.removesuffix(".yaml") for name in INVALID_CASES}
    if not UPDATE_GOLDEN:
        assert goldens == cases, "every case needs its .expected and every .expected its case"


@pytest.mark.parametrize("name", INVALID_CASES)
def test_case_starts_with_a_comment_saying_what_it_tests(name: str) -> None:
    first = (INVALID / name).read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# ") and len(first) > 20, first


@pytest.mark.parametrize("name", INVALID_CASES)
def test_invalid_manifest_matches_golden(
    name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(INVALID)
    code, out, err = _validate(capsys, name)
    golden = INVALID / f"{name.removesuffix('.yaml')}.expected"
    if UPDATE_GOLDEN:
        golden.write_text(out, encoding="utf-8")
    assert out == golden.read_text(encoding="utf-8")
    _assert_refused(code, out, err, name)


def test_every_problem_of_a_file_is_reported_at_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(INVALID)
    _, out, _ = _validate(capsys, "several-problems.yaml")
    paths = [line.split(": ")[2] for line in out.splitlines()]
    assert paths == [
        "$.name",
        "$.colour",
        "$.request.received",
        "$.request.subject.userObjectId",
        "$.workspaces[0].location",
        "$.workspaces[1]",
        "$.export",
        "$.export.select[0].subjct",
        "$.export.select[1].where.name",
        "$.export.select[1].where.name.regex",
        "$.delete.select",
        "$.limits.maxDeletes",
    ]
    _, out, _ = _validate(capsys, "several-semantic-problems.yaml")
    assert len(out.splitlines()) == 9


def test_several_files_report_all_their_problems(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(INVALID)
    names = ["duplicate-key-top.yaml", "unknown-kind.yaml", "empty-file.yaml"]
    code, out, _ = _validate(capsys, *names)
    expected = "".join(
        (INVALID / f"{name.removesuffix('.yaml')}.expected").read_text(encoding="utf-8")
        for name in names
    )
    assert code == 1
    assert out == expected


# --- generated cases: too large, not UTF-8 ------------------------------------------------------


def test_file_over_one_mebibyte_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = SMALL_VALID.encode() + b"# padding\n" * (MAX_BYTES // 10 + 1)
    (tmp_path / "huge.yaml").write_bytes(raw)
    monkeypatch.chdir(tmp_path)
    code, out, err = _validate(capsys, "huge.yaml")
    assert (
        out == f"huge.yaml:1:1: error: $: file is {len(raw)} bytes; the limit is 1048576 (1 MiB)\n"
    )
    _assert_refused(code, out, err, "huge.yaml")


def test_file_of_exactly_one_mebibyte_is_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = SMALL_VALID.encode() + b"#"
    raw += b"x" * (MAX_BYTES - len(raw) - 1) + b"\n"
    assert len(raw) == MAX_BYTES
    (tmp_path / "full.yaml").write_bytes(raw)
    monkeypatch.chdir(tmp_path)
    code, out, _ = _validate(capsys, "full.yaml")
    assert (code, out) == (0, "full.yaml: valid\n")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            SMALL_VALID.replace("demo-rg", "Jos\xe9-rg").encode("latin-1"),
            "latin1.yaml:5:23: error: $: not UTF-8 text (byte 0xe9); save the file as UTF-8\n",
            id="latin-1",
        ),
        pytest.param(
            SMALL_VALID.encode("utf-16"),
            "latin1.yaml:1:1: error: $: not UTF-8 text (byte 0xff); save the file as UTF-8\n",
            id="utf-16",
        ),
        pytest.param(
            SMALL_VALID.encode() + b"# trailing \xc3\x28 broken sequence\n",
            "latin1.yaml:12:12: error: $: not UTF-8 text (byte 0xc3); save the file as UTF-8\n",
            id="broken-utf-8",
        ),
    ],
)
def test_bytes_that_are_not_utf8_are_refused(
    raw: bytes,
    expected: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "latin1.yaml").write_bytes(raw)
    monkeypatch.chdir(tmp_path)
    code, out, err = _validate(capsys, "latin1.yaml")
    assert out == expected
    _assert_refused(code, out, err, "latin1.yaml")


def test_utf8_with_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + SMALL_VALID.encode())
    manifest, _ = load_manifest(path)
    assert manifest.name == "generated"


# --- alias bombs ------------------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_billion_laughs_is_refused_without_expanding() -> None:
    with pytest.raises(ManifestError) as caught:
        load_manifest(INVALID / "alias-bomb.yaml")
    assert len(caught.value.diagnostics) == 1
    assert "YAML aliases expand this document past" in caught.value.diagnostics[0].message


@pytest.mark.timeout(30)
def test_mapping_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = [
        "version: 1",
        "name: mapping-bomb",
        "l0: &l0 {" + ", ".join(f"k{i}: lol" for i in range(10)) + "}",
    ]
    for level in range(1, 12):
        keys = ", ".join(f"k{i}: *l{level - 1}" for i in range(10))
        lines.append(f"l{level}: &l{level} {{{keys}}}")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\nworkspaces: *l11\n", encoding="utf-8")
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    assert "aliases expand" in str(caught.value)


def test_small_aliases_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "aliases.yaml"
    path.write_text(
        SMALL_VALID + "delete:\n  select:\n    - {kind: model, ids: &ids [m1, m2]}\n"
        "    - {kind: asset, ids: *ids}\n",
        encoding="utf-8",
    )
    manifest, _ = load_manifest(path)
    assert [selector.ids for selector in manifest.delete] == [("m1", "m2"), ("m1", "m2")]


# --- valid manifests --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", VALID_MANIFESTS, ids=lambda path: f"{path.parent.name}/{path.name}"
)
def test_valid_manifest_validates(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # catalog paths resolve against the manifest, not the cwd
    code, out, err = _validate(capsys, str(path))
    assert (code, out, err) == (0, f"{path}: valid\n", "")


def test_valid_manifests_validate_together_from_their_folder(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(VALID)
    names = sorted(path.name for path in VALID.glob("*.yaml"))
    code, out, _ = _validate(capsys, *names)
    assert code == 0
    assert out == "".join(f"{name}: valid\n" for name in names)


def test_examples_start_with_the_schema_line() -> None:
    examples = sorted(EXAMPLES.glob("*.yaml"))
    assert len(examples) >= 3
    for path in examples:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=../../schemas/manifest.schema.json"


# --- the model load_manifest builds -----------------------------------------------------------


def test_model_has_every_selector_feature() -> None:
    path = VALID / "every-selector.yaml"
    manifest, catalog = load_manifest(path)
    assert catalog.name == "azureml-2019-11-01"
    assert manifest.name == "every-selector"
    assert manifest.catalog == "azureml-2019-11-01"
    assert manifest.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert manifest.workspaces == (
        Workspace("6a3c9f1e-2b4d-4c8a-9e1f-0123456789ab", "demo-rg", "demo-ws", "eastus"),
    )
    assert manifest.workspaces[0].scope_values() == {
        "subscriptionId": "6a3c9f1e-2b4d-4c8a-9e1f-0123456789ab",
        "resourceGroupName": "demo-rg",
        "workspaceName": "demo-ws",
        "location": "eastus",
    }
    request = manifest.request
    assert request is not None
    assert request.id == "DSR-2026-0100"
    assert (request.received, request.due) == (dt.date(2026, 1, 31), dt.date(2026, 3, 31))
    assert request.subject == Subject("8b0c2f4e-0000-4000-8000-000000000042", "Jane Doe")
    assert manifest.export_to == "exports/every-selector"
    assert manifest.max_deletes == 10

    ids, name, where, subject, everything = manifest.export
    assert ids == Selector("export", 0, "pipeline_graph", ids=("graph-1", "graph-2"))
    assert name == Selector("export", 1, "model", name="churn-*")
    assert where.label == "export.select[2]"
    assert where.where == (  # in the manifest's order, as a reviewer reads them
        Condition("status", "equals", "Completed"),
        Condition("createdBy.userName", "glob", "Jane*"),
        Condition("runType", "regex", r"^azureml\.(scriptrun|pipelinerun)$"),
        Condition("tags.priority", "in", [1, 2, "high"]),
        Condition("createdUtc", "after", "2026-01-01"),
        Condition("endTimeUtc", "before", "2026-01-31T12:00:00Z"),
    )
    assert (where.ids, where.name, where.subject, where.all) == (None, None, False, False)
    assert subject == Selector("export", 3, "artifact", subject=True)
    assert everything == Selector("export", 4, "datastore", all=True)

    combined, by_id = manifest.delete
    assert combined == Selector(
        "delete",
        0,
        "model",
        name="churn-*",
        where=(Condition("tags.stage", "equals", None),),
        subject=True,
    )
    assert by_id == Selector("delete", 1, "service", ids=("svc-1",))


def test_model_of_2018_catalog_and_default_due_date() -> None:
    manifest, catalog = load_manifest(VALID / "catalog-2018.yaml")
    assert catalog.name == manifest.catalog == "azureml-2018-03-01-preview"
    assert manifest.request is not None
    assert manifest.request.received == dt.date(2019, 12, 31)
    assert manifest.request.due == dt.date(2020, 1, 31)
    assert manifest.request.subject == Subject(None, "Jane Doe")
    assert [ws.location for ws in manifest.workspaces] == ["eastus", "westeurope"]
    assert manifest.max_deletes is None
    assert manifest.export[2] == Selector("export", 2, "pipeline_experiment", ids=("exp-1",))


def test_model_of_custom_catalog_relative_to_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    manifest, catalog = load_manifest(VALID / "custom-catalog.yaml")
    assert catalog.name == "custom-minimal"
    assert Path(manifest.catalog).resolve() == (HERE / "catalogs" / "custom-minimal.yaml")
    assert manifest.export == (Selector("export", 0, "gadget", name="g-*"),)
    assert manifest.delete == (Selector("delete", 0, "gadget", ids=("g-1",)),)


def test_model_of_workspace_teardown() -> None:
    manifest, catalog = load_manifest(VALID / "teardown-confirm.yaml")
    assert catalog.name == manifest.catalog == "azureml-2019-11-01"  # the default
    assert manifest.request is None
    assert manifest.max_deletes == 0
    assert manifest.delete[1] == Selector("delete", 1, "workspace", confirm="Old_Workspace-01")
    assert manifest.export[0] == Selector("export", 0, "workspace", all=True)


def test_catalog_argument_overrides_the_manifests_own(tmp_path: Path) -> None:
    from amlctl.catalog import load_catalog

    older = load_catalog("azureml-2018-03-01-preview")
    manifest, catalog = load_manifest(VALID / "every-selector.yaml", older)
    assert catalog is older
    assert manifest.catalog == "azureml-2018-03-01-preview"


def test_unreadable_path_is_a_diagnostic(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        load_manifest(tmp_path / "missing.yaml")
    assert "cannot read file" in str(caught.value)
    with pytest.raises(ManifestError):
        load_manifest(tmp_path)  # a directory


# --- one_month_after --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (dt.date(2026, 1, 31), dt.date(2026, 2, 28)),
        (dt.date(2028, 1, 31), dt.date(2028, 2, 29)),  # leap year
        (dt.date(2100, 1, 31), dt.date(2100, 2, 28)),  # not a leap year
        (dt.date(2000, 1, 30), dt.date(2000, 2, 29)),  # leap year (divisible by 400)
        (dt.date(2026, 1, 28), dt.date(2026, 2, 28)),
        (dt.date(2026, 3, 31), dt.date(2026, 4, 30)),
        (dt.date(2026, 2, 28), dt.date(2026, 3, 28)),
        (dt.date(2028, 2, 29), dt.date(2028, 3, 29)),
        (dt.date(2026, 12, 15), dt.date(2027, 1, 15)),
        (dt.date(2026, 12, 31), dt.date(2027, 1, 31)),
        (dt.date(2026, 11, 30), dt.date(2026, 12, 30)),
        (dt.date(2026, 8, 31), dt.date(2026, 9, 30)),
    ],
)
def test_one_month_after(received: dt.date, due: dt.date) -> None:
    assert one_month_after(received) == due
