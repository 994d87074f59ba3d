"""Whether items are still as planned, read from list answers: a few pages per collection
instead of a GET before every delete.

Plan read these items from the same lists, and a kind's fingerprint covers only fields that
read the same in its list and get answers (the catalog's `version_fields`, or its etag), so a
list answer says whether an item changed as well as its GET would. Only top-level collections
(the workspace's models, services, ...) are listed here, and only where a run deletes enough of
one collection that its pages cost fewer requests than one GET per item; the rest keep the GET.
An item the list does not show gets the GET too: "already gone" is never concluded from a list.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from amlctl.azure.client import Client, Reply
from amlctl.canonical import dotted
from amlctl.catalog import Catalog, Kind, expand
from amlctl.errors import ApiError
from amlctl.plan.model import Change, WorkspaceRef

# Deletes from one collection at which listing it beats a GET each: list pages hold about 100
# items at Azure ML's services, so this stays ahead even when the collection is five times
# bigger than what is deleted from it.
LIST_FROM = 20


@dataclass(frozen=True)
class Listed:
    """An item as its collection's list shows it now, and the reply of the page it was on."""

    fingerprint: str
    reply: Reply


class ListCheck:
    """Lists each collection once, when its first delete asks; safe to share between threads."""

    def __init__(
        self,
        catalog: Catalog,
        client: Client,
        workspaces: Iterable[WorkspaceRef],
        deletes: Iterable[Change],
        *,
        list_from: int | None = None,
    ) -> None:
        self.catalog, self.client = catalog, client
        self.scopes = {ws.workspace: _scope_values(ws) for ws in workspaces}
        counts = Counter((c.workspace, c.kind) for c in deletes if self._listable(c))
        least = LIST_FROM if list_from is None else list_from
        self.covered = {key for key, count in counts.items() if count >= least}
        self._lists: dict[tuple[str, str], dict[str, Listed]] = {}
        self._locks = {key: threading.Lock() for key in self.covered}

    def find(self, change: Change) -> Listed | None:
        """The item as listed now, or None when its collection is not listed here or the list
        does not show it (the caller GETs it then)."""
        key = (change.workspace, change.kind)
        if key not in self.covered:
            return None
        with self._locks[key]:  # one listing per collection, however many workers ask at once
            if key not in self._lists:
                self._lists[key] = self._read(change.workspace, self.catalog.kind(change.kind))
        return self._lists[key].get(change.id)

    def _listable(self, change: Change) -> bool:
        kind = self.catalog.kinds.get(change.kind)
        if kind is None or not kind.can("list") or change.workspace not in self.scopes:
            return False
        parent = self.catalog.kinds.get(kind.parent) if kind.parent else None
        return parent is None or parent.scope

    def _read(self, workspace: str, kind: Kind) -> dict[str, Listed]:
        operation = kind.op("list")
        assert operation.paging is not None
        url = expand(operation, self.scopes[workspace], self.catalog.hosts)
        found: dict[str, Listed] = {}
        try:
            for page, reply in self.client.pages_with_replies(url, operation.paging):
                for item in page:
                    found[str(dotted(item, kind.id_field))] = Listed(kind.fingerprint(item), reply)
        except ApiError:  # the collection cannot be read now: each of its deletes GETs instead
            return {}
        return found


def _scope_values(ws: WorkspaceRef) -> dict[str, str]:
    return {
        "subscriptionId": ws.subscription_id,
        "resourceGroupName": ws.resource_group,
        "workspaceName": ws.workspace,
        "location": ws.location,
    }
