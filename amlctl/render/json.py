"""The plan as JSON: exactly the text of the plan file (indent 2, sorted keys, trailing newline)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from amlctl.canonical import pretty_json


def render_json(doc: Mapping[str, Any]) -> str:
    """The plan document as the plan file holds it, so `show --format json` can be diffed."""
    return pretty_json(doc).decode("utf-8")
