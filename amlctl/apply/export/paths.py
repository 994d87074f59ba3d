"""Where an exported item lives under the export folder: a name made safe from a server id.

Server ids may hold `/`, `..`, spaces, colons or 256 characters; a file name must do none of the
harm those could. The name keeps a readable slug of the id and adds a short hash of the exact id,
so two ids never share a file (even ones that differ only in case or in unsafe characters) and
long ids stay under the file-name limit. The exact id is kept inside the exported JSON.
"""

from __future__ import annotations

import hashlib
import re

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_SLUG = 80
# Names Windows reserves for devices, whatever follows the first dot (`aux.txt` is AUX): an
# export folder handed to a data subject must open on any machine.
_RESERVED = frozenset(
    {"con", "prn", "aux", "nul", *(f"com{n}" for n in range(1, 10)),
     *(f"lpt{n}" for n in range(1, 10))}
)


def export_file(workspace: str, kind: str, item_id: str) -> str:
    """Relative posix path of an item's JSON file: `<workspace>/<kind>/<slug>~<hash>.json`."""
    return f"{_slug(workspace)}/{kind}/{_slug(item_id)}~{_hash(item_id)}.json"


def _slug(text: str) -> str:
    slug = _UNSAFE.sub("_", text).strip("._-")[:_MAX_SLUG].rstrip(".")
    if slug.split(".", 1)[0].lower() in _RESERVED:
        slug = "_" + slug
    return slug or "_"


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
