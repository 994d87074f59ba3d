"""Read-only discovery: what exists in each workspace that a manifest could touch.

Only GETs. Lists are paged to the end; nested kinds are listed under each parent item (runs under
experiments, artifacts under runs, ...), concurrently, each list as soon as its parent item is
known rather than stage by stage. Where every selector of a nested kind is about the data
subject, only the subject's parents are expanded, so a subject request in a big workspace does
not list every run's artifacts.

Items are kept as small views (id, name, fingerprint, the fields selectors and children need),
not whole documents, so memory stays proportional to the number of items, not their size.
"""

from __future__ import annotations

import difflib

from amlctl.azure.client import Client
from amlctl.catalog import Catalog, expand
from amlctl.errors import AmlctlError, ApiError
from amlctl.inventory.model import Inventory, Item, dotted
from amlctl.inventory.needs import needs
from amlctl.inventory.walker import Progress, Walker
from amlctl.manifest import Manifest, Workspace
from amlctl.subject import SubjectMatcher

__all__ = ["Inventory", "Item", "Progress", "WorkspaceNotFound", "dotted", "fetch"]


class WorkspaceNotFound(AmlctlError):
    """A workspace the manifest names does not exist (and the manifest does not delete it)."""


def fetch(
    manifest: Manifest,
    catalog: Catalog,
    client: Client,
    *,
    parallelism: int = 10,
    progress: Progress | None = None,
) -> Inventory:
    """Read everything `manifest` may select, in every workspace it names."""
    wanted = needs(manifest, catalog)
    walker = Walker(catalog, client, wanted, SubjectMatcher.for_request(manifest.request), progress)
    inventory = walker.run(manifest.workspaces, parallelism)
    _check_workspaces(manifest, catalog, client, inventory)
    inventory.requests = client.stats.requests
    return inventory


def _check_workspaces(
    manifest: Manifest, catalog: Catalog, client: Client, inventory: Inventory
) -> None:
    """Every workspace the manifest names exists, unless the manifest deletes it (a teardown
    planned again after the workspace went: then it is already absent)."""
    scope = catalog.scope_kind
    deleted = {s.confirm for s in manifest.delete if s.kind == scope.name}
    for index, ws in enumerate(manifest.workspaces):
        if inventory.lookups.get((ws.name, scope.name, ws.name)) is None and ws.name not in deleted:
            place = f"{manifest.path}: $.workspaces[{index}].workspace"
            raise WorkspaceNotFound(f"{place}: {_not_found(ws, catalog, client)}")


def _not_found(ws: Workspace, catalog: Catalog, client: Client) -> str:
    where = f"resource group {ws.resource_group} of subscription {ws.subscription_id}"
    head = f"{catalog.scope_kind.name} {ws.name!r} not found in {where}"
    operation = catalog.scope_kind.operations.get("list")
    if operation is None or operation.paging is None:
        return head
    url = expand(operation, ws.scope_values(), catalog.hosts)
    try:
        names = sorted(
            str(item.get(catalog.scope_kind.id_field))
            for page in client.pages(url, operation.paging)
            for item in page
        )
    except ApiError as error:
        if error.status == 404:
            return f"{head}: the resource group itself was not found ({error.code or '404'})"
        raise
    close = difflib.get_close_matches(ws.name, names, 1, 0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    there = ", ".join(names) if names else "none"
    return f"{head}{hint} (workspaces there: {there})"

