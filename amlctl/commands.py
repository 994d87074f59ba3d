"""Commands: small functions that take explicit arguments, print results and return an exit code.

They raise AmlctlError for anything the user must fix; the error boundary in cli.py prints it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from amlctl.catalog import Catalog, load_catalog
from amlctl.errors import EXIT_ERROR, EXIT_OK, CatalogError, DiagnosticsError, UsageError
from amlctl.manifest import load_manifest


def validate(files: list[Path], catalog: str | None) -> int:
    """Validate manifests (and a --catalog file); print every problem; 0 when all are valid."""
    problems: list[str] = []
    override: Catalog | None = None
    if catalog is not None:
        try:
            override = load_catalog(catalog)
        except CatalogError as error:
            problems += map(str, error.diagnostics)
    for path in files:
        try:
            load_manifest(path, override)
        except DiagnosticsError as error:
            problems += map(str, error.diagnostics)
    for line in problems:
        print(line)
    if problems:
        print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found", file=sys.stderr)
        return EXIT_ERROR
    for path in files:
        print(f"{path}: valid")
    return EXIT_OK


def catalog_list(catalog: str | None, fmt: str) -> int:
    """Print every operation of a catalog as a table or JSON."""
    if fmt not in ("table", "json"):
        raise UsageError(f"--format must be table or json, not {fmt!r}")
    loaded = load_catalog(catalog)
    rows = [
        _operation_row(
            op.kind,
            op.name,
            op.method,
            op.url,
            op.doc_url,
            op.note,
            op.paging.style if op.paging else None,
        )
        for op in loaded.operations()
    ]
    if fmt == "json":
        print(json.dumps(rows, indent=2))
    else:
        print(_table(loaded, rows))
    return EXIT_OK


def _operation_row(
    kind: str,
    operation: str,
    method: str,
    url: str,
    doc_url: str | None,
    note: str | None,
    paging: str | None,
) -> dict[str, str]:
    row = {"kind": kind, "operation": operation, "method": method, "url": url}
    if paging:
        row["paging"] = paging
    if doc_url:
        row["doc_url"] = doc_url
        row["note"] = note or ""
    return row


def _table(catalog: Catalog, rows: list[dict[str, str]]) -> str:
    width = max(len(row["kind"]) for row in rows)
    lines = [f"{catalog.name}: {catalog.title}", ""]
    for row in rows:
        mark = "  *" if "doc_url" in row else ""
        lines.append(
            f"{row['kind']:<{width}}  {row['operation']:<6}  {row['method']:<6}  {row['url']}{mark}"
        )
    if any("doc_url" in row for row in rows):
        lines += [
            "",
            "* differs from the article on purpose; `--format json` shows doc_url and note",
        ]
    return "\n".join(lines)
