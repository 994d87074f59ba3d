"""Whole literal workspaces and the manifests that plan them, shared by the planner tests."""

from __future__ import annotations

from amlctl.inventory import Inventory
from amlctl.manifest import Manifest

from .inventory_factories import (
    BOB,
    BOB_OID,
    DEMO,
    EU,
    JANE,
    JANE_OID,
    artifact,
    asset,
    experiment,
    image,
    inventory,
    metric,
    model,
    notification_task,
    run,
    service,
    workspace,
)
from .manifest_factories import manifest, request, select

EXP = experiment("churn")
JANE_RUN = run("run-jane", EXP, oid=JANE_OID, user=JANE)
BOB_RUN = run("run-bob", EXP, oid=BOB_OID, user=BOB)
MODEL = model("churn-model:1", "run-jane")
IMAGE = image("churn-img:1", ["churn-model:1"])
SERVICE = service("churn-svc", "churn-img:1")

EU_EXP = experiment("churn-eu", EU)
EU_RUN = run("run-jane-eu", EU_EXP, oid=JANE_OID, user=JANE)
EU_MODEL = model("churn-eu:1", "run-jane-eu", EU)
EU_IMAGE = image("churn-eu-img:1", ["churn-eu:1"], EU)
# A second chain in demo-ws-eu that the teardown cannot send: the service stays (no selector
# names it), so the image it runs and the model in that image are blocked.
EU_FRAUD_MODEL = model("fraud-eu:1", "run-jane-eu", EU)
EU_FRAUD_IMAGE = image("fraud-eu-img:1", ["fraud-eu:1"], EU)
EU_FRAUD_SERVICE = service("fraud-eu-svc", "fraud-eu-img:1", EU)


def dsr_inventory() -> Inventory:
    """demo-ws as the walker reads it for `dsr_manifest`: lists of the subject's kinds and of
    the users of deleted kinds (images use models, services images), and the named images and
    services looked up by id as well (one of them not found)."""
    return inventory(
        workspace(), EXP, JANE_RUN, BOB_RUN,
        metric("jane-acc", JANE_RUN), metric("bob-acc", BOB_RUN),
        artifact("outputs/model.pkl", JANE_RUN), artifact("outputs/bob.txt", BOB_RUN),
        MODEL, model("bob-model:1", "run-bob"),
        asset("churn-asset", "run-jane"), asset("bob-asset", "run-bob"),
        notification_task("t-jane", oid=JANE_OID, user=JANE),
        notification_task("t-bob", oid=BOB_OID, user=BOB),
        IMAGE, SERVICE,
        looked_up=(IMAGE, SERVICE),
        missing=((DEMO, "service", "gone-svc"),),
    )


def dsr_manifest(max_deletes: int | None = None) -> Manifest:
    """Export everything of Jane's; delete a named service and image, and her models and
    assets (the image holds her model, the service runs the image)."""
    return manifest(
        request=request(),
        export=[select(kind, subject=True) for kind in
                ("run", "metric", "artifact", "model", "asset", "notification_task")],
        delete=[select("service", ids=("churn-svc", "gone-svc")),
                select("image", ids=("churn-img:1",)),
                select("model", subject=True), select("asset", subject=True)],
        max_deletes=max_deletes,
    )


def two_workspaces_inventory() -> Inventory:
    """demo-ws as in `dsr_inventory` (its images no longer looked up: `image: all` lists
    them), and demo-ws-eu with Jane's runs, her models, the images holding them and the
    service running one of those images."""
    found = dsr_inventory()
    del found.lookups[(DEMO.name, "image", IMAGE.id)]
    eu = inventory(workspace(EU), EU_EXP, EU_RUN, EU_MODEL, EU_FRAUD_MODEL, EU_IMAGE,
                   EU_FRAUD_IMAGE, EU_FRAUD_SERVICE,
                   listed=[(EU, "asset"), (EU, "metric"), (EU, "artifact"),
                           (EU, "notification_task")],
                   missing=[(EU, "service", "churn-svc"), (EU, "service", "gone-svc")])
    found.items.update(eu.items)
    found.lookups.update(eu.lookups)
    return found


def teardown_and_dsr_manifest() -> Manifest:
    """The DSR in both workspaces, every image deleted, the EU workspace then deleted whole."""
    dsr = dsr_manifest()
    return manifest(
        request=dsr.request,
        workspaces=(DEMO, EU),
        export=dsr.export,
        delete=[*dsr.delete, select("image", all=True), select("workspace", confirm=EU.name)],
    )
