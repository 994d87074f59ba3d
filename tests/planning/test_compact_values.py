"""The compact shapes a big plan is held in read the same as the plain ones they replace."""

from __future__ import annotations

import hashlib
import random
from typing import Any

import pytest

from amlctl.canonical import Made, canonical_json, compute_digest, pretty_json, pretty_json_chunks
from amlctl.inventory.model import Fields, Item, Values


@pytest.mark.parametrize("key", ["runId", "workspaceName"])  # a new variable, and an override
def test_values_read_as_the_merged_dict(key: str) -> None:
    base = {"subscriptionId": "s", "workspaceName": "ws", "experimentId": "e"}
    values = Values(base, key, "own")
    merged = {**base, key: "own"}
    assert dict(values) == merged
    assert list(values) == list(merged)  # the order {**base, key: value} gives
    assert len(values) == len(merged)
    assert values == merged and {**values} == merged
    assert values.get("absent") is None and values[key] == "own"



@pytest.mark.parametrize(
    "fingerprint",
    [
        "sha256:" + hashlib.sha256(b"run").hexdigest(),  # kept as its digest
        "sha256:" + hashlib.sha256(b"run").hexdigest().upper(),  # would not read back: as is
        "sha256:short",
        'etag:"0x8D9"',
    ],
)
def test_an_item_reads_back_what_it_was_made_of(fingerprint: str) -> None:
    base = {"subscriptionId": "s", "workspaceName": "ws"}
    compact = Item("ws", "run", "r1", "first", fingerprint, Values(base, "runId", "r1"),
                   Fields(("createdBy.userObjectId", "tags.x"), ("oid", None)), parent="e")
    plain = Item("ws", "run", "r1", "first", fingerprint, {**base, "runId": "r1"},
                 {"createdBy.userObjectId": "oid", "tags.x": None}, parent="e")
    assert compact.fingerprint == plain.fingerprint == fingerprint
    assert dict(compact.values) == {**base, "runId": "r1"} == dict(plain.values)
    assert dict(compact.fields) == {"createdBy.userObjectId": "oid", "tags.x": None}
    assert "tags.x" in compact.fields and "tags.y" not in compact.fields
    assert compact == plain and compact != plain.replace(name="other")
    assert compact.replace(fingerprint="etag:new").fingerprint == "etag:new"
    assert repr(compact) == repr(plain) and "fingerprint=" in repr(compact)
    with pytest.raises(AttributeError):
        compact.name = "renamed"  # type: ignore[misc]


def _doubled(change: dict[str, Any]) -> dict[str, Any]:
    return {**change, "twice": [change["n"], change["n"]]}


@pytest.mark.parametrize("count", [0, 1, 3, 7000])  # 7000: over a MiB, more than one piece
def test_made_changes_write_and_digest_as_their_list(count: int) -> None:
    source = [{"n": n, "é": "a\nb\u2028", "nested": {"z": [], "a": {}}} for n in range(count)]
    made = {"changes": Made(source, _doubled), "b": {"x": [1, {"y": None}]}, "a": []}
    plain = {**made, "changes": [_doubled(change) for change in source]}
    assert b"".join(pretty_json_chunks(made)) == pretty_json(plain)
    whole = "sha256:" + hashlib.sha256(canonical_json(plain)).hexdigest()
    assert compute_digest(made) == compute_digest(plain) == whole
    assert list(made["changes"]) == plain["changes"] and len(made["changes"]) == count
    assert made["changes"][1:3] == plain["changes"][1:3]


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    scalars = ["a", "é\n\u2028\"", "x,\n  y", 1, -5, 2.5, 1e300, 10**30, True, False, None]
    roll = rng.random()
    if depth > 3 or roll < 0.4:
        return rng.choice([*scalars, [], {}, ()])
    if roll < 0.7:
        return {f"{rng.choice('abcdef')}{rng.randint(0, 3)}": _random_json(rng, depth + 1)
                for _ in range(rng.randint(0, 4))}
    return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]


def test_fast_pretty_text_is_json_dumps_byte_for_byte() -> None:
    # The pretty writer lays out flat containers with the C encoder: every shape, nesting,
    # escape and odd key must still give exactly what json.dumps(indent=2) gives.
    rng = random.Random(14)
    values = [_random_json(rng) for _ in range(3000)]
    values += [{1: "a", 2: [1]}, {"a": {1: 2}}, {"a": [{2: [3]}]}, {"b": (1, [2, {}])}]
    for value in values:
        assert b"".join(pretty_json_chunks(value)) == pretty_json(value), value


@pytest.mark.parametrize("bad", [{"a": {"b": float("nan")}}, {"a": [{"b": [float("-inf")]}]}])
def test_fast_pretty_text_refuses_what_json_dumps_refuses_in_its_words(bad: Any) -> None:
    with pytest.raises(ValueError) as whole:
        pretty_json(bad)
    with pytest.raises(ValueError) as streamed:
        b"".join(pretty_json_chunks(bad))
    assert str(streamed.value) == str(whole.value)
    assert b"".join(pretty_json_chunks(bad, allow_nan=True)) == pretty_json(bad, allow_nan=True)
