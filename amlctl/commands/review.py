"""`amlctl validate` and `amlctl catalog list`: read a manifest or a catalog, touch nothing."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from amlctl.catalog import Catalog, load_catalog
from amlctl.errors import (
    EXIT_ERROR,
    EXIT_OK,
    CatalogError,
    Diagnostic,
    DiagnosticsError,
    UsageError,
)
from amlctl.manifest import load_manifest


def validate(files: list[Path], catalog: str | None, fmt: str = "text") -> int:
    """Validate manifests (and a --catalog file); print every problem; 0 when all are valid.

    `fmt` "json" prints one document instead: {valid, files: [{file, valid}], problems: [...]}.
    """
    if fmt not in ("text", "json"):
        raise UsageError(f"--format must be text or json, not {fmt!r}")
    checked: list[tuple[str, bool]] = []  # (file, valid), the --catalog file first
    problems: list[Diagnostic] = []
    override: Catalog | None = None
    if catalog is not None:
        try:
            override = load_catalog(catalog)
            checked.append((catalog, True))
        except CatalogError as error:
            checked.append((catalog, False))
            problems += error.diagnostics
    for path in files:
        try:
            load_manifest(path, override)
            checked.append((str(path), True))
        except DiagnosticsError as error:
            checked.append((str(path), False))
            problems += error.diagnostics
    valid = not problems and all(ok for _file, ok in checked)
    if fmt == "json":
        doc = {
            "valid": valid,
            "files": [{"file": file, "valid": ok} for file, ok in checked],
            "problems": [problem.to_json() for problem in problems],
        }
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        for problem in problems:
            print(problem)
    if not valid:
        print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found", file=sys.stderr)
        return EXIT_ERROR
    if fmt == "text":
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
