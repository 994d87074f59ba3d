"""The plan file: round trip, byte-identical output, digest, and every kind of rejection."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from plan_factories import (
    delete,
    export,
    make_doc,
    make_plan,
    manual,
    subject_changes,
    teardown_plan,
    workspace_ref,
)

from amlctl.canonical import (
    DigestStream,
    canonical_json,
    compute_digest,
    fingerprint,
    pretty_json,
    pretty_json_chunks,
)
from amlctl.errors import PlanFileError, UsageError
from amlctl.plan import (
    Plan,
    Target,
    from_doc,
    load_doc,
    plan_timestamp,
    to_doc,
    write_plan,
)

PLANS = {
    "subject": lambda: make_plan(subject_changes(), warnings=("request DSR-2026-0042 is due",)),
    "teardown": teardown_plan,
    "empty": make_plan,
    "endpoint": lambda: make_plan([export("run", "r1")],
                                  target=Target("endpoint", "http://127.0.0.1:8765")),
    "two-workspaces": lambda: make_plan(
        [delete("run", "r1"), delete("run", "r1", ws="other-ws")],
        workspaces=(workspace_ref(), workspace_ref("other-ws"))),
}


def write_doc(path: Path, doc: dict[str, Any], *, fix_digest: bool = True) -> Path:
    """Write a (possibly broken) document as a plan file, with a digest that matches it."""
    if fix_digest:
        doc["digest"] = compute_digest(doc)
    path.write_bytes(pretty_json(doc))
    return path


def problems_of(path: Path) -> str:
    with pytest.raises(PlanFileError) as caught:
        load_doc(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    return message


@pytest.mark.parametrize("name", sorted(PLANS))
def test_load_of_write_gives_the_same_plan(tmp_path: Path, name: str) -> None:
    plan: Plan = PLANS[name]()
    path = tmp_path / "plans" / "deep" / "x.plan.json"  # parents are created
    write_plan(plan, path)
    assert from_doc(load_doc(path)) == plan
    assert from_doc(to_doc(plan)) == plan


def test_the_same_plan_gives_byte_identical_files(tmp_path: Path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    write_plan(make_plan(subject_changes()), first)
    write_plan(make_plan(subject_changes()[::-1]), second)
    assert first.read_bytes() == second.read_bytes() == pretty_json(
        to_doc(make_plan(subject_changes()))
    )


def test_the_file_is_the_document_pretty_printed(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    write_plan(make_plan(subject_changes()), path)
    text = path.read_text("utf-8")
    assert text.endswith("}\n") and text.startswith('{\n  "amlctl_version": "0.1.0",\n')
    doc = json.loads(text)
    assert doc["format_version"] == "1.1"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]  # no temp file left behind


def test_digest_covers_the_canonical_json_without_the_digest() -> None:
    doc = to_doc(make_plan(subject_changes()))
    body = {k: v for k, v in doc.items() if k != "digest"}
    expected = __import__("hashlib").sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()
    assert doc["digest"] == f"sha256:{expected}"


def test_non_ascii_is_kept_as_utf8(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    write_plan(make_plan([delete("model", "modèle-été:1")]), path)
    assert "modèle-été:1" in path.read_text("utf-8")
    assert from_doc(load_doc(path)).changes[0].id == "modèle-été:1"


def test_one_changed_byte_in_a_change_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    write_plan(make_plan(subject_changes()), path)
    path.write_bytes(path.read_bytes().replace(b'"run-0002"', b'"run-0003"', 1))
    message = problems_of(path)
    assert "$.digest: the plan does not match its digest" in message
    assert "$.changes[2].address" in message  # the address no longer matches the id


def test_a_tampered_action_is_named_with_its_json_path(tmp_path: Path) -> None:
    doc = make_doc(subject_changes())
    doc["changes"][0]["action"] = "destroy"
    message = problems_of(write_doc(tmp_path / "x.json", doc, fix_digest=False))
    assert "$.changes[0].action: 'destroy' is not one of" in message
    assert "$.digest:" in message


def test_every_schema_problem_is_listed_with_its_path(tmp_path: Path) -> None:
    doc = make_doc(subject_changes())
    del doc["catalog"]["sha256"]
    doc["limits"]["maxDeletes"] = "fifty"
    doc["changes"][1]["method"] = "GET"  # a delete must change something
    doc["changes"][3]["file"] = None  # an export must say where it writes
    message = problems_of(write_doc(tmp_path / "x.json", doc))
    assert "$.catalog: 'sha256' is a required property" in message
    assert "$.limits.maxDeletes: 'fifty' is not of type 'integer', 'null'" in message
    assert "$.changes[1].method: 'GET' is not one of ['DELETE', 'POST'] (for action 'delete')" in (
        message
    )
    assert "$.changes[3].file: None is not of type 'string' (for action 'export')" in message


def test_unknown_keys_are_refused_in_format_1_0(tmp_path: Path) -> None:
    doc = make_doc(subject_changes())
    doc["changes"][0]["if_match"] = "*"
    message = problems_of(write_doc(tmp_path / "x.json", doc))
    assert "$.changes[0]: Additional properties are not allowed ('if_match'" in message


def test_a_newer_minor_version_loads_and_its_unknown_keys_are_ignored(tmp_path: Path) -> None:
    plan = make_plan(subject_changes())
    doc = to_doc(plan)
    doc.update(format_version="1.3", approvals=[{"by": "reviewer"}])
    doc["changes"][0]["if_match"] = "*"
    assert from_doc(load_doc(write_doc(tmp_path / "x.json", doc))) == plan


def test_a_newer_minor_version_still_needs_every_known_key(tmp_path: Path) -> None:
    doc = make_doc(subject_changes(), )
    doc["format_version"] = "1.1"
    del doc["changes"][0]["url"]
    assert "$.changes[0]: 'url' is a required property" in problems_of(
        write_doc(tmp_path / "x.json", doc))


@pytest.mark.parametrize("version", ["2.0", "0.9", "10.1"])
def test_another_major_version_is_refused_with_one_clear_message(
    tmp_path: Path, version: str
) -> None:
    doc = make_doc(subject_changes())
    doc["format_version"] = version
    doc["changes"] = "a different shape"
    message = problems_of(write_doc(tmp_path / "x.json", doc))
    assert f"$.format_version: unsupported plan format {version}" in message
    assert message.count("\n") == 1


@pytest.mark.parametrize("version", [None, 1.0, "1", "v1.0", "1.0.0"])
def test_a_missing_or_malformed_version_is_refused(tmp_path: Path, version: Any) -> None:
    doc = make_doc()
    doc["format_version"] = version
    assert "$.format_version: missing or not a version" in problems_of(
        write_doc(tmp_path / "x.json", doc))


def test_a_summary_that_disagrees_with_the_changes_is_refused(tmp_path: Path) -> None:
    doc = make_doc(subject_changes())
    doc["summary"]["delete"] = 2
    message = problems_of(write_doc(tmp_path / "x.json", doc))
    assert "$.summary.delete: says 2 but the plan has 3 delete changes" in message


def test_changes_out_of_order_are_refused(tmp_path: Path) -> None:
    doc = make_doc(subject_changes())
    doc["changes"][0], doc["changes"][4] = doc["changes"][4], doc["changes"][0]
    assert "$.changes[1]: changes are not in plan order" in problems_of(
        write_doc(tmp_path / "x.json", doc))


def test_semantic_checks_name_the_change(tmp_path: Path) -> None:
    doc = make_doc(subject_changes())
    doc["changes"][0]["address"] = "delete:demo-ws/model/other"
    doc["changes"][1]["workspace"] = "nowhere"
    doc["changes"][1]["address"] = "delete:nowhere/run/run-0001"
    doc["changes"][2]["url"] += "&sig=c2VjcmV0"
    doc["changes"][3]["file"] = "run/../../../etc/passwd"
    doc["changes"][4]["file"] = "C:/temp/x.json"
    message = problems_of(write_doc(tmp_path / "x.json", doc))
    assert "$.changes[0].address: is 'delete:demo-ws/model/other', expected" in message
    assert "$.changes[1].workspace: 'nowhere' is not one of $.workspaces" in message
    assert "$.changes[2].url: carries a credential" in message
    assert "$.changes[3].file: 'run/../../../etc/passwd' must be a relative path" in message
    assert "$.changes[4].file: 'C:/temp/x.json' must be a relative path" in message


def test_duplicate_addresses_in_a_file_are_refused(tmp_path: Path) -> None:
    doc = make_doc([delete("run", "r1")])
    doc["changes"].append(dict(doc["changes"][0]))
    doc["summary"]["delete"] = 2
    assert "$.changes[1].address: duplicate address" in problems_of(
        write_doc(tmp_path / "x.json", doc))


@pytest.mark.parametrize(("target", "path"), [
    ({"kind": "endpoint", "endpoint": None}, "$.target.endpoint"),
    ({"kind": "azure", "endpoint": "http://127.0.0.1:1"}, "$.target.endpoint"),
    ({"kind": "endpoint", "endpoint": "http://user:pw@host:1"}, "$.target.endpoint"),
    ({"kind": "cloud", "endpoint": None}, "$.target.kind"),
])
def test_the_target_is_checked(tmp_path: Path, target: dict[str, Any], path: str) -> None:
    doc = make_doc()
    doc["target"] = target
    assert f"{path}: " in problems_of(write_doc(tmp_path / "x.json", doc))


def test_the_subject_can_only_be_a_pseudonym(tmp_path: Path) -> None:
    doc = make_doc()
    doc["request"]["subject"] = {"pseudonym": "jane.doe@example.com"}
    assert "$.request.subject.pseudonym: " in problems_of(write_doc(tmp_path / "x.json", doc))


@pytest.mark.parametrize(("content", "expected"), [
    (b"", ":1:1: not a plan file: invalid JSON: Expecting value"),
    (b'{"a": 1,\n  "a": 2}', ": not a plan file: $: duplicate key 'a' in an object"),
    (b'{"a": NaN}', ": not a plan file: $: NaN is not valid JSON"),
    (b'\xff{}', ": not a plan file: not UTF-8 (byte 0)"),
    (b"[]", ": not a valid amlctl plan:\n  $: a plan must be a JSON object"),
])
def test_files_that_are_not_plans(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "x.json"
    path.write_bytes(content)
    assert expected in problems_of(path)


def test_a_missing_file_is_a_plan_file_error(tmp_path: Path) -> None:
    assert "cannot read plan file" in problems_of(tmp_path / "missing.json")


def test_an_invalid_plan_is_never_written(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    with pytest.raises(PlanFileError, match=r"refusing to write an invalid plan:\n  \$\.created"):
        write_plan(make_plan(created="yesterday"), path)
    assert not path.exists() and list(tmp_path.iterdir()) == []


def test_write_replaces_an_existing_plan(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    write_plan(make_plan(), path)
    write_plan(make_plan([manual("designer-drafts")]), path)
    assert from_doc(load_doc(path)).changes[0].id == "designer-drafts"


def test_plan_timestamp_prefers_source_date_epoch() -> None:
    now = datetime(2026, 11, 22, 6, 30, 15, 999, tzinfo=timezone(timedelta(hours=1)))
    assert plan_timestamp({}, now) == "2026-11-22T05:30:15Z"
    assert plan_timestamp({"SOURCE_DATE_EPOCH": "1795000000"}, now) == "2026-11-18T11:06:40Z"
    assert plan_timestamp({"SOURCE_DATE_EPOCH": ""}, now) == "2026-11-22T05:30:15Z"
    with pytest.raises(UsageError, match="SOURCE_DATE_EPOCH"):
        plan_timestamp({"SOURCE_DATE_EPOCH": "tomorrow"}, now)
    with pytest.raises(ValueError, match="aware"):
        plan_timestamp({}, datetime(2026, 1, 1))


def test_pretty_json_is_the_file_layout_and_refuses_nan_unless_asked() -> None:
    assert pretty_json({"b": [1], "a": "é"}) == '{\n  "a": "é",\n  "b": [\n    1\n  ]\n}\n'.encode()
    with pytest.raises(ValueError, match="Out of range float"):
        pretty_json({"a": float("nan")})
    assert pretty_json({"a": float("nan")}, allow_nan=True) == b'{\n  "a": NaN\n}\n'


def test_fingerprint_prefers_the_etag_and_ignores_key_order() -> None:
    assert fingerprint({"a": 1}, '"0x8D"') == 'etag:"0x8D"'
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) == "sha256:" + __import__("hashlib").sha256(
        canonical_json({"a": 1})).hexdigest()
    assert fingerprint({"a": 1}, "") == fingerprint({"a": 1})


def test_an_absent_item_needs_its_phase_but_not_a_url(tmp_path: Path) -> None:
    from plan_factories import absent

    path = tmp_path / "x.json"
    plan = make_plan([dataclasses.replace(absent("run", "gone"), url=None)])
    write_plan(plan, path)
    assert from_doc(load_doc(path)) == plan
    with pytest.raises(PlanFileError, match=r"\$\.changes\[0\]\.method: None is not of type"):
        write_plan(make_plan([dataclasses.replace(absent("run", "gone"), method=None)]), path)


def test_a_format_1_0_plan_is_refused_with_one_clear_message(tmp_path: Path) -> None:
    doc = make_doc()
    doc["format_version"] = "1.0"
    message = problems_of(write_doc(tmp_path / "x.json", doc))
    assert "plan format 1.0 has no delete order (format 1.1 added it); make a new plan" in message


def test_the_delete_order_round_trips_and_is_checked(tmp_path: Path) -> None:
    image = delete("image", "img:1")
    model = delete("model", "m:1", after=(image.address,))
    plan = make_plan([model, image])
    doc = to_doc(plan)
    assert next(c for c in doc["changes"] if c["kind"] == "model")["after"] == [image.address]
    loaded = from_doc(load_doc(write_doc(tmp_path / "ok.json", doc)))
    assert next(c for c in loaded.changes if c.kind == "model").after == (image.address,)

    unknown = to_doc(make_plan([delete("model", "m:1", after=("delete:demo-ws/image/nope",))]))
    assert "'delete:demo-ws/image/nope' is not a delete of this plan" in problems_of(
        write_doc(tmp_path / "unknown.json", unknown))

    looped = to_doc(make_plan([
        delete("image", "img:1", after=("delete:demo-ws/model/m:1",)),
        delete("model", "m:1", after=("delete:demo-ws/image/img:1",)),
    ]))
    assert "is part of a cycle of deletes" in problems_of(write_doc(tmp_path / "loop.json", looped))

    exported = to_doc(make_plan([image, export("model", "m:1", after=(image.address,))]))
    assert ".after:" in problems_of(write_doc(tmp_path / "export.json", exported))


@pytest.mark.parametrize(
    "doc",
    [
        {},
        {"changes": [], "b": {}, "a": [[], {}, None]},
        {"z": "é\u2028\"", "changes": [{"k": n, "ü": [n, {"y": 1, "x": 2}]} for n in range(3)]},
        # more than one piece of pretty_json_chunks (about 256 KiB each)
        {"changes": [{"address": f"export:ws/run/{n}", "reason": "x" * 100} for n in range(9000)]},
    ],
)
def test_streamed_digest_and_file_are_the_bytes_of_the_whole(doc: dict[str, Any]) -> None:
    body = {key: value for key, value in doc.items() if key != "digest"}
    whole = "sha256:" + hashlib.sha256(canonical_json(body)).hexdigest()
    assert compute_digest({**doc, "digest": "ignored"}) == whole
    chunks = list(pretty_json_chunks(doc))
    assert b"".join(chunks) == pretty_json(doc)
    assert (len(chunks) > 1) == (len(doc.get("changes", ())) == 9000)
    if "changes" in doc:  # the changes given one at a time, as a plan is written
        stream = DigestStream({**doc, "digest": "ignored"}, "changes")
        for change in doc["changes"]:
            stream.add(change)
        assert stream.digest() == whole
