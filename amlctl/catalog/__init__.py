"""Endpoint catalogs: which REST calls exist per resource kind, as safe URL templates."""

from __future__ import annotations

from amlctl.catalog.expand import SCOPE_VARS, expand, host_allowed, values_of
from amlctl.catalog.load import BUILTIN_CATALOGS, CATALOG_ALIASES, DEFAULT_CATALOG, load_catalog
from amlctl.catalog.model import (
    Catalog,
    Kind,
    ManualStep,
    Operation,
    Paging,
    Residue,
    SubjectLink,
    Use,
)

__all__ = [
    "BUILTIN_CATALOGS",
    "CATALOG_ALIASES",
    "DEFAULT_CATALOG",
    "SCOPE_VARS",
    "Catalog",
    "Kind",
    "ManualStep",
    "Operation",
    "Paging",
    "Residue",
    "SubjectLink",
    "Use",
    "expand",
    "host_allowed",
    "load_catalog",
    "values_of",
]
