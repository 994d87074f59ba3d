"""Checks JSON Schema cannot make: a manifest against its catalog and against itself."""

from __future__ import annotations

import datetime as dt
import difflib
from typing import Any

from amlctl.catalog import Catalog, Kind
from amlctl.errors import Diagnostic
from amlctl.yamlio import Document, JsonPath

_CRITERIA = ("ids", "name", "where", "subject", "all")


def problems(doc: Document, catalog: Catalog) -> list[Diagnostic]:
    """Every semantic problem of a schema-valid manifest."""
    data: dict[str, Any] = doc.data
    found = _workspace_problems(doc, data) + _request_problems(doc, data)
    names = {ws["workspace"] for ws in data["workspaces"]}
    for section in ("export", "delete"):
        for index, selector in enumerate(data.get(section, {}).get("select", [])):
            where: JsonPath = (section, "select", index)
            found += _selector_problems(doc, where, selector, catalog, data, names)
    return found


def _workspace_problems(doc: Document, data: dict[str, Any]) -> list[Diagnostic]:
    """Each workspace listed once, and each name used once: plans, the inventory and export
    files address items by workspace name alone, so two workspaces of one name (in two
    resource groups or subscriptions) would be taken for one. Names compare
    case-insensitively, as in Azure."""
    seen: dict[tuple[str, str, str], int] = {}
    named: dict[str, int] = {}
    found = []
    for index, ws in enumerate(data["workspaces"]):
        name = ws["workspace"]
        key = (ws["subscriptionId"].lower(), ws["resourceGroup"].lower(), name.lower())
        if key in seen:
            found.append(
                doc.diagnostic(
                    ("workspaces", index),
                    f"same workspace as workspaces[{seen[key]}]; list each workspace once",
                )
            )
        elif name.lower() in named:
            first = named[name.lower()]
            found.append(
                doc.diagnostic(
                    ("workspaces", index, "workspace"),
                    f"workspace name {name!r} is used twice (workspaces[{first}] and "
                    f"workspaces[{index}]); plans address items by workspace name, so each "
                    "must be unique in a manifest; plan the other workspace with a manifest "
                    "of its own",
                )
            )
        seen.setdefault(key, index)
        named.setdefault(name.lower(), index)
    return found


def _request_problems(doc: Document, data: dict[str, Any]) -> list[Diagnostic]:
    request = data.get("request")
    if not request or "due" not in request:
        return []
    if dt.date.fromisoformat(request["due"]) < dt.date.fromisoformat(request["received"]):
        return [
            doc.diagnostic(
                ("request", "due"),
                f"due date {request['due']} is before the received date {request['received']}",
            )
        ]
    return []


def _selector_problems(
    doc: Document,
    where: JsonPath,
    selector: dict[str, Any],
    catalog: Catalog,
    data: dict[str, Any],
    names: set[str],
) -> list[Diagnostic]:
    kind_name = selector["kind"]
    if kind_name not in catalog.kinds:
        known = ", ".join(sorted(catalog.kinds))
        close = difflib.get_close_matches(kind_name, sorted(catalog.kinds), 1, 0.8)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return [
            doc.diagnostic(
                (*where, "kind"),
                f"unknown kind {kind_name!r} in catalog {catalog.name}{hint}; known: {known}",
            )
        ]
    kind = catalog.kind(kind_name)
    modes = _mode_problems(doc, where, selector, kind)
    if kind.scope:
        return modes + _workspace_selector_problems(doc, where, selector, names)
    found = modes
    if "confirm" in selector:
        found.append(
            doc.diagnostic(
                (*where, "confirm"),
                "confirm is only for deleting a whole workspace (kind: workspace under "
                "delete); remove it here",
                key=True,
            )
        )
    found += _criteria_problems(doc, where, selector)
    found += _kind_capability_problems(doc, where, selector, kind, catalog)
    if selector.get("subject") and not data.get("request"):
        found.append(
            doc.diagnostic(
                (*where, "subject"),
                "subject: true needs a `request:` naming the data subject "
                "(request.subject); add one, or select by ids, name or where",
            )
        )
    found += _moment_problems(doc, where, selector)
    found += _scope_problems(doc, where, selector, data, names)
    return found


def _scope_problems(
    doc: Document, where: JsonPath, selector: dict[str, Any], data: dict[str, Any],
    names: set[str],
) -> list[Diagnostic]:
    """`workspace:` names a workspace of the manifest; `not:` is checked like a selector's
    criteria (its dates real, its subject known)."""
    found = []
    scoped = selector.get("workspace")
    if scoped is not None and scoped not in names:
        found.append(
            doc.diagnostic(
                (*where, "workspace"),
                f"{scoped!r} is not the name of a workspace in `workspaces` "
                f"({', '.join(sorted(names))})",
            )
        )
    excluded = selector.get("not")
    if excluded is not None:
        found += _moment_problems(doc, (*where, "not"), excluded)
        if excluded.get("subject") and not data.get("request"):
            found.append(
                doc.diagnostic(
                    (*where, "not", "subject"),
                    "subject: true needs a `request:` naming the data subject",
                )
            )
    return found


def _mode_problems(
    doc: Document, where: JsonPath, selector: dict[str, Any], kind: Kind
) -> list[Diagnostic]:
    """`mode:` names a delete mode the catalog offers for the kind (purge), under delete."""
    mode = selector.get("mode")
    if mode is None:
        return []
    if where[0] != "delete":
        return [doc.diagnostic((*where, "mode"), "mode is only for deletes", key=True)]
    modes = kind.op("delete").modes if kind.can("delete") else {}
    if mode not in modes:
        offered = ", ".join(sorted(modes)) or "none"
        return [
            doc.diagnostic(
                (*where, "mode"),
                f"{kind.name!r} has no delete mode {mode!r} in this catalog; modes: {offered}",
            )
        ]
    return []


def _workspace_selector_problems(
    doc: Document, where: JsonPath, selector: dict[str, Any], names: set[str]
) -> list[Diagnostic]:
    others = [key for key in selector if key not in ("kind", "confirm", "all", "mode")]
    found = [
        doc.diagnostic(
            (*where, key),
            f"{key!r} does not apply to the workspace kind; the "
            "workspace is the one named in `workspaces`",
            key=True,
        )
        for key in others
    ]
    if where[0] == "export":
        if "confirm" in selector:
            found.append(
                doc.diagnostic(
                    (*where, "confirm"),
                    "confirm is only for deleting a whole workspace (under delete); "
                    "remove it from export",
                    key=True,
                )
            )
        if not selector.get("all"):
            found.append(doc.diagnostic(where, "export the workspace's own record with all: true"))
        return found
    confirm = selector.get("confirm")
    if confirm is None:
        found.append(
            doc.diagnostic(
                where, "deleting a whole workspace needs `confirm:` with the workspace's name"
            )
        )
    elif confirm not in names:
        found.append(
            doc.diagnostic(
                (*where, "confirm"),
                f"{confirm!r} is not the name of a "
                f"workspace in `workspaces` ({', '.join(sorted(names))})",
            )
        )
    if "all" in selector:
        found.append(
            doc.diagnostic((*where, "all"), "name the workspace with confirm:, not all:", key=True)
        )
    return found


def _criteria_problems(
    doc: Document, where: JsonPath, selector: dict[str, Any]
) -> list[Diagnostic]:
    given = [key for key in _CRITERIA if key in selector]
    if not given:
        return [
            doc.diagnostic(
                where,
                "a selector needs at least one of: ids, name, where, "
                "subject, all (all: true selects everything of the kind)",
            )
        ]
    if "all" in given and len(given) > 1:
        others = ", ".join(key for key in given if key != "all")
        return [
            doc.diagnostic(
                (*where, "all"),
                f"all: true selects everything of the kind; it cannot be combined with {others}",
                key=True,
            )
        ]
    return []


def _kind_capability_problems(
    doc: Document, where: JsonPath, selector: dict[str, Any], kind: Kind, catalog: Catalog
) -> list[Diagnostic]:
    found = []
    if where[0] == "delete" and not kind.can("delete"):
        deletable = ", ".join(sorted(k.name for k in catalog.kinds.values() if k.can("delete")))
        found.append(
            doc.diagnostic(
                (*where, "kind"),
                f"catalog {catalog.name} has no delete call "
                f"for {kind.name!r}; deletable kinds: {deletable}",
            )
        )
    if not (kind.can("list") or kind.from_field) and set(selector) - {"kind", "ids"}:
        found.append(
            doc.diagnostic(
                where,
                f"{kind.name!r} has no list call, so its items can only be selected by `ids` alone",
            )
        )
    link = catalog.subject_link(kind.name)
    if selector.get("byDisplayName") and not selector.get("subject"):
        found.append(
            doc.diagnostic(
                (*where, "byDisplayName"), "byDisplayName goes with subject: true", key=True
            )
        )
    elif selector.get("byDisplayName") and (link is None or link.display_name is None):
        named = ", ".join(
            sorted(k.name for k in catalog.kinds.values() if k.subject and k.subject.display_name)
        )
        found.append(
            doc.diagnostic(
                (*where, "byDisplayName"),
                f"{kind.name!r} items do not name their creator by display name; "
                f"byDisplayName works for: {named or 'no kind of this catalog'}",
                key=True,
            )
        )
    if selector.get("subject") and link is None:
        able = ", ".join(sorted(k.name for k in catalog.kinds.values() if k.subject))
        found.append(
            doc.diagnostic(
                (*where, "subject"),
                f"{kind.name!r} items do not name a person "
                f"or a run; subject selection works for: {able}",
            )
        )
    return found


def _moment_problems(doc: Document, where: JsonPath, selector: dict[str, Any]) -> list[Diagnostic]:
    found = []
    for path, condition in selector.get("where", {}).items():
        for test in ("before", "after"):
            if test in condition and not _parses(condition[test]):
                found.append(
                    doc.diagnostic(
                        (*where, "where", path, test),
                        f"{condition[test]!r} is not a real date or time",
                    )
                )
    return found


def _parses(text: str) -> bool:
    try:
        dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True
