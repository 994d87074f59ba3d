"""The export folder's index: one entry per exported file, written by apply, read by plan.

Plan reads it to tell new exports from changed ones and from ones already current. The file is
`<export folder>/index.json`: {"format_version": "1.0", "items": {address: entry}} where an
entry holds at least `file`, `fingerprint` (of the item as exported), `sha256`, `size`,
`source_url`, `request_id` and `exported_at`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from amlctl.errors import PlanFileError

INDEX_NAME = "index.json"
FORMAT_VERSION = "1.0"


def index_path(export_to: str) -> Path:
    return Path(export_to) / INDEX_NAME


def read_entries(export_to: str | None) -> dict[str, dict[str, Any]]:
    """Entries by address; empty when nothing was exported there yet."""
    if export_to is None:
        return {}
    path = index_path(export_to)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise PlanFileError(
            f"{path}: export index is unreadable ({error}); move it aside to "
            "export everything again"
        ) from None
    items = doc.get("items") if isinstance(doc, dict) else None
    if not isinstance(items, dict) or not str(doc.get("format_version", "")).startswith("1."):
        raise PlanFileError(f"{path}: not an amlctl export index (format_version 1.x with items)")
    return {str(k): v for k, v in items.items() if isinstance(v, dict)}


def fingerprints(export_to: str | None) -> dict[str, str]:
    """Address -> fingerprint of the item as last exported."""
    return {
        address: str(entry.get("fingerprint", ""))
        for address, entry in read_entries(export_to).items()
    }
