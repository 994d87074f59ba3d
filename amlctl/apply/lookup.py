"""How apply and verify read one planned item as it is now: by its kind's get call, or found in
its list (kinds with no get, and `export_from_list` kinds when apply exports them), or gathered
whole (`as_one` kinds: a run's metrics).

The URL is the change's `check` where the plan gives one (the item is read somewhere else than
it is deleted: a run is read from run history and deleted as an ARM job), else its `url`.
"""

from __future__ import annotations

from typing import Any

from amlctl.azure.client import Client, Reply
from amlctl.canonical import dotted
from amlctl.catalog import Catalog, Kind, expand, values_of
from amlctl.errors import ApiError, ExpandError
from amlctl.plan.model import Change


def read_url(change: Change) -> str:
    """Where the item of `change` is read."""
    url = change.check or change.url
    assert url is not None
    return url


def list_url(catalog: Catalog, kind: Kind, change: Change) -> str:
    """The list an export of `change` reads its item from: the planned URL itself for a kind
    with no get (an artifact's container), else, for an `export_from_list` kind, its
    collection's list, filled with the values its planned get URL holds (the loader checked
    the get URL has every variable the list needs)."""
    url = read_url(change)
    if not kind.export_from_list:
        return url
    values = values_of(kind.op("get"), url)
    if values is None:
        raise ExpandError(f"{change.address}: {url} is not a URL of {kind.name}'s get call")
    return expand(kind.op("list"), values, catalog.hosts)


def current(client: Client, kind: Kind, change: Change) -> tuple[Reply, dict[str, Any] | None]:
    """The last reply read, and the item as it is now (None: it is gone)."""
    url = read_url(change)
    if kind.from_field:
        return _entry(client, kind, change, url)
    if kind.as_one or not kind.can("get"):
        return _listed(client, kind, change, url)
    reply = client.get(url, expect=(200, 404))
    body = reply.body if reply.status == 200 and isinstance(reply.body, dict) else None
    return reply, body


def _entry(
    client: Client, kind: Kind, change: Change, url: str
) -> tuple[Reply, dict[str, Any] | None]:
    """An item read off its parent (a run's tag): the parent's get, then the entry."""
    reply = client.get(url, expect=(200, 404))
    parent_id, _, key = change.id.partition("/")
    body = reply.body if reply.status == 200 and isinstance(reply.body, dict) else None
    found = dotted(body, kind.from_field) if body is not None and kind.from_field else None
    entries = kind.entries_of(parent_id, found)
    return reply, next((entry for entry in entries if entry["key"] == key), None)


def _listed(
    client: Client, kind: Kind, change: Change, url: str
) -> tuple[Reply, dict[str, Any] | None]:
    operation = kind.op("list")
    assert operation.paging is not None
    own = own_id(kind, change)
    last: Reply | None = None
    entries: list[dict[str, Any]] = []
    pages = client.pages_with_replies(url, operation.paging, operation.query)
    try:
        for page, reply in pages:
            last = reply
            if kind.as_one:
                entries += page
                continue
            for item in page:
                if str(item.get(kind.id_field)) == own:
                    return reply, item
    except ApiError as error:
        if error.status != 404:
            raise
        # The collection is gone (its run was deleted): so is the item.
        return gone_reply(url), None
    assert last is not None
    return last, kind.collected(change.id, entries) if kind.as_one else None


def own_id(kind: Kind, change: Change) -> str:
    """The item's id as its list names it: `<parent id>/<own id>` loses its parent part, and the
    own id may hold slashes itself (an artifact's path)."""
    return change.id.split("/", 1)[-1] if kind.id_in_parent else change.id


def gone_reply(url: str) -> Reply:
    """What a list that is gone (404) answers for an item of it."""
    return Reply("GET", url, 404, {}, None, None)
