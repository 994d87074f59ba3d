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

from amlctl.azure.client import Client
from amlctl.catalog import Catalog
from amlctl.inventory.model import Inventory, Item, dotted
from amlctl.inventory.needs import needs
from amlctl.inventory.walker import Progress, Walker
from amlctl.manifest import Manifest
from amlctl.subject import SubjectMatcher

__all__ = ["Inventory", "Item", "Progress", "dotted", "fetch"]


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
    inventory.requests = client.stats.requests
    return inventory
