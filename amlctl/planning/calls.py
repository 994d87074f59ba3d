"""The calls a change records, besides its URL: where a delete is checked, a delete mode's
query, the method as the plan types it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from amlctl.catalog import Catalog, Kind, expand
from amlctl.inventory import Item
from amlctl.plan.model import Method


def check_url(kind: Kind, catalog: Catalog, item: Item, delete_url: str) -> str | None:
    """Where apply and verify read an item to be deleted, if not at its delete URL: its get
    call where that is elsewhere (a run, deleted as an ARM job), or its list (`as_one` kinds)."""
    if kind.from_field and kind.parent:  # read off its parent: the parent's get
        return expand(catalog.kind(kind.parent).op("get"), item.values, catalog.hosts)
    if kind.can("get") and not kind.as_one:
        read = expand(kind.op("get"), item.values, catalog.hosts)
        same = urlsplit(read)[:3] == urlsplit(delete_url)[:3]
        return None if same else read
    return expand(kind.op("list"), item.values, catalog.hosts)


def with_query(url: str, query: Mapping[str, str]) -> str:
    """`url` with `query`'s parameters added (a delete mode's, e.g. forceToPurge=true)."""
    split = urlsplit(url)
    pairs = [*parse_qsl(split.query, keep_blank_values=True), *sorted(query.items())]
    return urlunsplit(split._replace(query=urlencode(pairs, safe="-")))


def method_of(method: str) -> Method:
    """The catalog's HTTP method as the plan records it (the catalog schema allows no other)."""
    return cast(Method, method)
