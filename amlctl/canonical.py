"""Canonical JSON and the hashes taken over it: plan digests and item fingerprints.

A neutral module: the inventory fingerprints items, the plan file is digested, and apply
compares both, so none of them owns these functions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def canonical_json(value: object) -> bytes:
    """The canonical JSON bytes the digest and fingerprints are computed over."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def compute_digest(doc: Mapping[str, Any]) -> str:
    """`sha256:<hex>` over the canonical JSON of `doc` without its `digest` key."""
    body = {key: value for key, value in doc.items() if key != "digest"}
    return "sha256:" + hashlib.sha256(canonical_json(body)).hexdigest()


def dotted(data: Mapping[str, Any], path: str) -> Any:
    """The value at a dot path (`createdBy.userName`), or None where the path runs out."""
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def fingerprint(item: object, etag: str | None = None) -> str:
    """What an item looked like at plan time: `etag:<v>`, else `sha256:` of its canonical JSON."""
    if etag:
        return f"etag:{etag}"
    return "sha256:" + hashlib.sha256(canonical_json(item)).hexdigest()
