"""The plan as JSON: exactly the text of the plan file (indent 2, sorted keys, trailing newline)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from amlctl.canonical import pretty_json

_CHUNK = 1 << 18  # characters per piece of saved_json (as pretty_json_chunks)


def render_json(doc: Mapping[str, Any]) -> str:
    """The plan document as the plan file holds it, so `show --format json` can be diffed."""
    return pretty_json(doc).decode("utf-8")


def saved_json(plan_file: Path) -> Iterator[str]:
    """The JSON rendering of a plan just written to `plan_file`, in pieces of 256 KiB: the
    file's own text (it is `render_json` of its document, byte for byte), so a big plan is
    printed without encoding it again or holding its whole text (18 MB at 20k changes)."""
    with plan_file.open(encoding="utf-8", newline="") as handle:
        while piece := handle.read(_CHUNK):
            yield piece
