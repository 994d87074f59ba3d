"""load_manifest: file -> Manifest, or ManifestError carrying every problem at once.

Order: strict YAML (syntax, duplicates, aliases, size, encoding), then JSON Schema (shape, unknown
keys, formats), then semantics against the catalog. Later stages run only on what the earlier
ones accepted, so one mistake is not reported three times.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

from amlctl import schemacheck
from amlctl.catalog import DEFAULT_CATALOG, Catalog, load_catalog
from amlctl.catalog.load import is_builtin
from amlctl.errors import CatalogError, Diagnostic, ManifestError
from amlctl.fsio import FsError, read_input
from amlctl.manifest import semantics
from amlctl.manifest.model import Condition, Manifest, Request, Selector, Subject, Workspace
from amlctl.yamlio import MAX_BYTES, Document, YamlError, load_bytes


def load_manifest(path: Path, catalog: Catalog | None = None) -> tuple[Manifest, Catalog]:
    """Load and validate a manifest; `catalog` overrides the one the manifest names."""
    try:
        raw = read_input(path, MAX_BYTES)
    except OSError as error:
        raise ManifestError(
            [Diagnostic(str(path), 1, 1, "$", f"cannot read file: {error.strerror}")]
        ) from None
    except FsError as error:
        raise ManifestError([Diagnostic(str(path), 1, 1, "$", str(error))]) from None
    try:
        doc = load_bytes(raw, str(path))
    except YamlError as error:
        raise ManifestError(error.diagnostics) from None
    if doc.data is None:
        raise ManifestError([doc.diagnostic((), "the file is empty; a manifest starts with "
                                                 "version: 1 and name: ...")])
    if not isinstance(doc.data, dict):
        raise ManifestError([doc.diagnostic((), "a manifest is a mapping (version: 1, name: ...)")])
    problems = schemacheck.check(doc, "manifest")
    if problems:
        raise ManifestError(problems)
    catalog = catalog or _catalog_for(doc, path)
    problems = semantics.problems(doc, catalog)
    if problems:
        raise ManifestError(problems)
    return _build(doc.data, str(path), hashlib.sha256(raw).hexdigest(), catalog.source), catalog


def _catalog_for(doc: Document, path: Path) -> Catalog:
    ref = doc.data.get("catalog", DEFAULT_CATALOG)
    if not is_builtin(ref):
        ref = str(path.parent / ref)
    try:
        return load_catalog(ref)
    except CatalogError as error:
        if error.diagnostics and error.diagnostics[0].file == ref and len(error.diagnostics) == 1:
            message = error.diagnostics[0].message
            raise ManifestError(
                [doc.diagnostic(("catalog",), f"catalog {ref}: {message}")]
            ) from None
        raise


def _build(data: dict[str, Any], path: str, sha256: str, catalog: str) -> Manifest:
    export = data.get("export", {})
    delete = data.get("delete", {})
    return Manifest(
        path=path,
        sha256=sha256,
        name=data["name"],
        catalog=catalog,
        workspaces=tuple(
            Workspace(ws["subscriptionId"], ws["resourceGroup"], ws["workspace"], ws["location"])
            for ws in data["workspaces"]
        ),
        request=_request(data.get("request")),
        export_to=export.get("to"),
        export=tuple(_selector("export", i, s) for i, s in enumerate(export.get("select", []))),
        delete=tuple(_selector("delete", i, s) for i, s in enumerate(delete.get("select", []))),
        max_deletes=data.get("limits", {}).get("maxDeletes"),
    )


def _request(data: dict[str, Any] | None) -> Request | None:
    if data is None:
        return None
    received = dt.date.fromisoformat(data["received"])
    due = dt.date.fromisoformat(data["due"]) if "due" in data else one_month_after(received)
    given = data["subject"]
    subject = Subject(
        given.get("userObjectId"), given.get("userName"), tuple(given.get("displayNames", ()))
    )
    return Request(data["id"], received, due, subject)


def one_month_after(day: dt.date) -> dt.date:
    """GDPR Art. 12(3)'s "one month": the same day next month, or that month's last day."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _selector(section: str, index: int, data: dict[str, Any]) -> Selector:
    exclude = data.get("not")
    where = tuple(
        Condition(path, test, value)
        for path, condition in data.get("where", {}).items()
        for test, value in condition.items()
    )
    ids = tuple(data["ids"]) if "ids" in data else None
    return Selector(
        section=section,
        index=index,
        kind=data["kind"],
        ids=ids,
        name=data.get("name"),
        where=where,
        subject=bool(data.get("subject")),
        by_display_name=bool(data.get("byDisplayName")),
        all=bool(data.get("all")),
        confirm=data.get("confirm"),
        mode=data.get("mode"),
        workspace=data.get("workspace"),
        exclude=_selector(section, index, {"kind": data["kind"], **exclude}) if exclude else None,
    )
