"""The compact shapes a big plan is held in read the same as the plain ones they replace."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from amlctl.canonical import Made, canonical_json, compute_digest, pretty_json, pretty_json_chunks
from amlctl.inventory.model import Values


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
