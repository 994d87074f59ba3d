"""Load a catalog (built-in by name, or a user's file), validate it, and build the model."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from amlctl import schemacheck
from amlctl.catalog.expand import SCOPE_VARS, host_allowed
from amlctl.catalog.model import (
    Catalog,
    DeleteMode,
    Kind,
    ManualStep,
    Operation,
    Paging,
    Residue,
    SubjectLink,
    Use,
)
from amlctl.errors import CatalogError, Diagnostic
from amlctl.fsio import FsError, read_input
from amlctl.yamlio import MAX_BYTES, Document, YamlError, load_bytes

DEFAULT_CATALOG = "azureml-2019-11-01"
# Another name for a built-in catalog, resolved when it is loaded: the loaded catalog keeps its
# own name (and its bytes their digest), so a plan records which catalog it was made with,
# never the alias, and moving the alias to a newer catalog cannot change an existing plan.
CATALOG_ALIASES = {"azureml-current": "azureml-2026-05-01"}


BUILTIN_CATALOGS = ("azureml-2018-03-01-preview", "azureml-2019-11-01", "azureml-2026-05-01")


def resolve_name(ref: str) -> str:
    """The built-in catalog an alias stands for; any other name or path unchanged."""
    return CATALOG_ALIASES.get(ref, ref)


def is_builtin(ref: str) -> bool:
    """Whether `ref` names a built-in catalog, by its name or an alias (else it is a path)."""
    return resolve_name(ref) in BUILTIN_CATALOGS


def load_catalog(name_or_path: str | None = None) -> Catalog:
    """A built-in catalog by name (or alias), or a catalog file by path; CatalogError lists
    every problem."""
    ref = resolve_name(name_or_path or DEFAULT_CATALOG)
    raw, display = _read(ref)
    return _load_cached(raw, display, ref)


@cache
def _load_cached(raw: bytes, display: str, ref: str) -> Catalog:
    try:
        doc = load_bytes(raw, display)
    except YamlError as error:
        raise CatalogError(error.diagnostics) from None
    problems = schemacheck.check(doc, "catalog")
    if not problems:
        problems = _semantic_problems(doc)
    if problems:
        raise CatalogError(problems)
    return _build(doc.data, ref, hashlib.sha256(raw).hexdigest())


def _read(ref: str) -> tuple[bytes, str]:
    if ref in BUILTIN_CATALOGS:
        resource = resources.files("amlctl").joinpath("catalogs", f"{ref}.yaml")
        return resource.read_bytes(), f"<built-in catalog {ref}>"
    path = Path(ref)
    if not path.suffix and not path.exists():
        aliases = [f"{alias} (= {name})" for alias, name in CATALOG_ALIASES.items()]
        known = ", ".join([*BUILTIN_CATALOGS, *aliases])
        raise CatalogError([Diagnostic(ref, 1, 1, "$", f"no such catalog; built-in: {known}")])
    try:
        return read_input(path, MAX_BYTES), ref
    except OSError as error:
        raise CatalogError([Diagnostic(ref, 1, 1, "$", f"cannot read: {error.strerror}")]) from None
    except FsError as error:
        raise CatalogError([Diagnostic(ref, 1, 1, "$", f"cannot read: {error}")]) from None


def _semantic_problems(doc: Document) -> list[Diagnostic]:
    data: dict[str, Any] = doc.data
    problems: list[Diagnostic] = []
    kinds: dict[str, Any] = data["kinds"]
    scopes = [name for name, kind in kinds.items() if kind.get("scope")]
    if len(scopes) != 1:
        problems.append(doc.diagnostic(("kinds",), "exactly one kind must have scope: true"))
    for name, kind in kinds.items():
        problems += _kind_problems(doc, name, kind, kinds, data["hosts"])
    return problems


def _kind_problems(
    doc: Document, name: str, kind: dict[str, Any], kinds: Mapping[str, Any], hosts: list[str]
) -> list[Diagnostic]:
    where = ("kinds", name)
    problems = _reference_problems(doc, where, kind, kinds)
    known = set(SCOPE_VARS) | set(kind.get("parent", {}).get("vars", {}))
    for op_name, op in kind["operations"].items():
        op_where = (*where, "operations", op_name, "url")
        allowed = known | ({kind["id_var"]} if op_name != "list" and "id_var" in kind else set())
        problems += _url_problems(doc, op_where, op["url"], allowed, hosts)
        if op_name == "list" and "paging" not in op:
            problems.append(doc.diagnostic(op_where[:-1], "a list operation needs `paging`"))
        if op_name == "delete" and not op.get("statuses"):
            problems.append(doc.diagnostic(op_where[:-1], "a delete operation needs `statuses`"))
    if kind.get("export_from_list"):
        problems += _list_export_problems(doc, where, kind)
    return problems


def _list_export_problems(
    doc: Document, where: tuple[str, ...], kind: dict[str, Any]
) -> list[Diagnostic]:
    """An item exported from its list needs a list and a get (the plan names its get URL, and
    apply finds the list from the values in it), one entry per item."""
    at = (*where, "export_from_list")
    operations = kind["operations"]
    if "list" not in operations or "get" not in operations:
        return [doc.diagnostic(at, "needs both a list and a get operation")]
    if kind.get("as_one") or kind.get("from_field"):
        return [doc.diagnostic(at, "cannot go with as_one or from_field (no entry per item)")]
    needed = _variables(operations["list"]["url"]) - _variables(operations["get"]["url"])
    if needed:
        named = ", ".join(f"{{{name}}}" for name in sorted(needed))
        return [doc.diagnostic(at, f"the list URL needs {named}, which the get URL lacks")]
    return []


def _variables(url: str) -> set[str]:
    """The template variables of a catalog URL (its host's `{location}` and path segments)."""
    return set(re.findall(r"\{([A-Za-z][A-Za-z0-9_]*)\}", url))


def _reference_problems(
    doc: Document, where: tuple[str, ...], kind: dict[str, Any], kinds: Mapping[str, Any]
) -> list[Diagnostic]:
    """Every kind a kind names (its parent, what it uses, its way to the subject) must exist;
    a subject link goes through a kind whose items name their creator."""
    named: list[tuple[tuple[str | int, ...], Any]] = [
        (("parent", "kind"), kind.get("parent", {}).get("kind"))
    ]
    named += [
        ((relation, i, "kind"), use["kind"])
        for relation in ("uses", "made_by")
        for i, use in enumerate(kind.get(relation, []))
    ]
    via = kind.get("subject", {}).get("via")
    named.append((("subject", "via"), via))
    problems = [
        doc.diagnostic((*where, *at), f"unknown kind {other!r}")
        for at, other in named
        if other is not None and other not in kinds
    ]
    if via in kinds and "creator" not in kinds[via].get("subject", {}):
        # Only a strong creator link (an object id) can carry the subject to other kinds.
        problems.append(
            doc.diagnostic(
                (*where, "subject", "via"),
                f"kind {via!r} does not name a creator (subject: {{creator: [...]}})",
            )
        )
    return problems


def _url_problems(
    doc: Document, where: tuple[str, ...], url: str, allowed: set[str], hosts: list[str]
) -> list[Diagnostic]:
    split = urlsplit(url)
    problems = []
    if not host_allowed(split.netloc.replace("{location}", "x"), hosts):
        problems.append(doc.diagnostic(where, f"host {split.netloc!r} is not in `hosts`"))
    for segment in split.path.split("/"):
        if "{" not in segment:
            continue
        inner = segment[1:-1]
        if not (segment.startswith("{") and segment.endswith("}")) or "{" in inner:
            problems.append(
                doc.diagnostic(
                    where, f"segment {segment!r}: a variable must be a whole path segment"
                )
            )
        elif inner not in allowed:
            problems.append(
                doc.diagnostic(
                    where,
                    f"variable {{{inner}}} has no source (known: {', '.join(sorted(allowed))})",
                )
            )
    return problems


def _build(data: dict[str, Any], ref: str, sha256: str) -> Catalog:
    kinds = {name: _kind(name, spec) for name, spec in data["kinds"].items()}
    manual = tuple(
        ManualStep(m["id"], m["action"], m["title"], m["instructions"], m.get("anchor"))
        for m in data.get("manual", [])
    )
    return Catalog(
        name=data["name"],
        title=data["title"],
        source=ref,
        sha256=sha256,
        hosts=tuple(data["hosts"]),
        content_hosts=tuple(data.get("content_hosts", [])),
        kinds=kinds,
        manual=manual,
    )


def _kind(name: str, spec: dict[str, Any]) -> Kind:
    parent = spec.get("parent", {})
    return Kind(
        name=name,
        description=spec["description"],
        id_field=spec["id_field"],
        operations={op: _operation(name, op, s) for op, s in spec["operations"].items()},
        scope=bool(spec.get("scope", False)),
        parent=parent.get("kind"),
        parent_vars=dict(parent.get("vars", {})),
        id_var=spec.get("id_var"),
        id_in_parent=bool(spec.get("id_in_parent", False)),
        etag_field=spec.get("etag_field"),
        version_fields=tuple(spec.get("version_fields", ())),
        uses=tuple(_use(use) for use in spec.get("uses", ())),
        made_by=tuple(_use(use) for use in spec.get("made_by", ())),
        subject=_subject(spec.get("subject")),
        content_field=spec.get("content_field"),
        not_erasable=spec.get("not_erasable"),
        as_one=bool(spec.get("as_one", False)),
        from_field=spec.get("from_field"),
        export_from_list=bool(spec.get("export_from_list", False)),
        residue=tuple(
            Residue(r["id"], r["title"], r["path"], r["instructions"])
            for r in spec.get("residue", ())
        ),
    )


def _use(spec: dict[str, Any]) -> Use:
    return Use(spec["kind"], spec["field"], spec.get("key"))


def _subject(spec: dict[str, Any] | None) -> SubjectLink | None:
    if spec is None:
        return None
    return SubjectLink(
        creator=tuple(spec.get("creator", ())),
        via=spec.get("via"),
        field=spec.get("field"),
        key=spec.get("key"),
        display_name=spec.get("display_name"),
        creator_type=spec.get("creator_type"),
    )


def _operation(kind: str, name: str, spec: dict[str, Any]) -> Operation:
    paging = spec.get("paging")
    return Operation(
        kind=kind,
        name=name,
        method=spec["method"],
        url=spec["url"],
        anchor=spec["anchor"],
        paging=Paging(paging["style"], paging.get("param")) if paging else None,
        statuses={int(code): outcome for code, outcome in spec.get("statuses", {}).items()},
        long_running=bool(spec.get("long_running", False)),
        if_match=bool(spec.get("if_match")),
        doc_url=spec.get("doc_url"),
        note=spec.get("note"),
        erasure=spec.get("erasure"),
        modes={
            mode: DeleteMode(mode, dict(m["query"]), m["erasure"], m["description"])
            for mode, m in spec.get("modes", {}).items()
        },
        body=spec.get("body"),
        only_empty=bool(spec.get("only_empty", False)),
    )
