"""What a list and a get answer for an item, from its stored document.

The real services answer a list with summaries and a get with the whole resource, and a client
that compares a list item with a later get of the same item (a plan's fingerprint checked at
apply) must cope. So, for the kinds where the services differ:

- compute (ARM): a list item is a summary; a get adds `createdOn`, `provisioningErrors` and the
  nested `properties.properties`, with node counts that change from one get to the next.
- image, service (model management): a list item leaves out the fields a get joins from other
  items or only a get returns, unless the list is called with `expand=true`.

Every other kind is served as stored, list and get alike. Catalogs fingerprint an item by fields
that a list item and a get share, so those never differ between the two: compute `id`, `name`,
`properties.modifiedOn`, `properties.computeType`; image `id`, `name`, `version`,
`modifiedTime`, `modelIds`; service `id`, `name`, `updatedTime`, `imageId`, `computeType`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from amlctl.emulator.documents import stamp
from amlctl.emulator.store import Item, Store, dumps

Doc = dict[str, Any]

_COMPUTE_TOP = ("id", "name", "type", "location")
_COMPUTE_LISTED = ("computeType", "computeLocation", "provisioningState", "description",
                   "modifiedOn", "isAttachedCompute", "resourceId")
_IMAGE_ONLY_GET = ("modelDetails", "imageBuildLogUri")
_SERVICE_ONLY_GET = ("scoringUri", "swaggerUri", "imageDetails", "appInsightsEnabled",
                     "authEnabled")
_MODEL_SUMMARY = ("id", "name", "version", "framework", "createdTime")


def _keep(doc: Doc, names: Iterable[str]) -> Doc:
    wanted = set(names)
    return {key: value for key, value in doc.items() if key in wanted}


def _drop(doc: Doc, names: Iterable[str]) -> Doc:
    unwanted = set(names)
    return {key: value for key, value in doc.items() if key not in unwanted}


# -- computes (ARM) ------------------------------------------------------------------------

def compute_summary(doc: Doc) -> Doc:
    """A compute as a list answers it: its settings (VM size, scale settings: SDKs read them
    from lists), but no creation time, errors or live node counts."""
    props = doc.get("properties") or {}
    listed = _keep(props, _COMPUTE_LISTED)
    if isinstance(props.get("properties"), dict):
        listed["properties"] = dict(props["properties"])
    return {**_keep(doc, _COMPUTE_TOP), "properties": listed}


def compute_detail(doc: Doc, reads: int) -> Doc:
    """A compute as its `reads`-th get answers it: the stored document plus live node state."""
    props = dict(doc.get("properties") or {})
    inner = dict(props.get("properties") or {})
    inner.update(node_state(inner.get("scaleSettings") or {}, reads))
    inner["allocationStateTransitionTime"] = _transition_time(props.get("modifiedOn"), reads)
    return {**doc, "properties": {**props, "properties": inner}}


def _transition_time(modified: object, reads: int) -> str:
    """`reads` minutes after the compute's `modifiedOn`: every get is a transition, and the time
    stays a function of the stored document and the count (no clock)."""
    try:
        start = datetime.fromisoformat(str(modified))
    except ValueError:  # a test may patch in any string; the seed epoch stands in
        return stamp(reads, "arm")
    start = start.astimezone(UTC) if start.tzinfo else start.replace(tzinfo=UTC)
    return (start + timedelta(minutes=reads)).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0+00:00"


def node_state(scale: Doc, reads: int) -> Doc:
    """The node counts of a cluster that scales up and back down, one step per get.

    Four steps, repeating: steady at the minimum, resizing up (half the new nodes preparing),
    steady at the maximum (all running), resizing down (the extra nodes leaving). Each step
    differs from the one before (the allocation state alternates), so two successive gets of a
    compute always differ, and the n-th get of a compute answers the same in every run.
    """
    low = int(scale.get("minNodeCount") or 0)
    high = max(int(scale.get("maxNodeCount") or 0), low)
    step = (reads - 1) % 4
    current, target = ((low, low), ((low + high) // 2, high), (high, high), (high, low))[step]
    counts = {"idleNodeCount": 0, "runningNodeCount": 0, "preparingNodeCount": 0,
              "unusableNodeCount": 0, "leavingNodeCount": 0, "preemptedNodeCount": 0}
    if step == 2:
        counts["runningNodeCount"] = high
    else:
        counts["idleNodeCount"] = low
        counts["preparingNodeCount" if step == 1 else "leavingNodeCount"] = current - low
    return {"allocationState": "Resizing" if step % 2 else "Steady", "currentNodeCount": current,
            "targetNodeCount": target, "nodeStateCounts": counts}


# -- images and services (model management) -----------------------------------------------

def image_summary(doc: Doc) -> Doc:
    return _drop(doc, _IMAGE_ONLY_GET)


def image_detail(store: Store, ws: str, doc: Doc) -> Doc:
    """An image with `modelDetails` joined from its models (ids whose model is gone skipped)."""
    models = (store.get(ws, "model", str(model_id)) for model_id in doc.get("modelIds") or [])
    details = [_keep(model.doc, _MODEL_SUMMARY) for model in models if model is not None]
    return {**doc, "modelDetails": details}


def service_summary(doc: Doc) -> Doc:
    return _drop(doc, _SERVICE_ONLY_GET)


def service_detail(store: Store, ws: str, doc: Doc) -> Doc:
    """A service with `imageDetails`: the summary of its image, or null once that is gone."""
    image = store.get(ws, "image", str(doc.get("imageId")))
    return {**doc, "imageDetails": image_summary(image.doc) if image is not None else None}


def mms_listed(store: Store, item: Item, expand: bool) -> str:
    """The JSON of a model-management list item; `expand` lists images and services whole."""
    if item.kind == "image":
        return dumps(image_detail(store, item.ws, item.doc) if expand
                     else image_summary(item.doc))
    if item.kind == "service":
        return dumps(service_detail(store, item.ws, item.doc) if expand
                     else service_summary(item.doc))
    return item.raw


def mms_got(store: Store, item: Item) -> str:
    """The JSON of a model-management get (whole, with or without `expand`)."""
    if item.kind == "image":
        return dumps(image_detail(store, item.ws, item.doc))
    if item.kind == "service":
        return dumps(service_detail(store, item.ws, item.doc))
    return item.raw
