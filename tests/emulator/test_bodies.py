"""List and get answer different bodies for computes, images and services, as the real services
do, in both catalog editions; the fields catalogs fingerprint by stay the same in both."""

from __future__ import annotations

from typing import Any

import pytest

from amlctl.emulator.seed import DEMO_EU_WS_KEY, DEMO_WS_KEY

from .conftest import ARM, COMPUTE_LIVE, EDITIONS, MMS, WS_PATH, Emu, Factory

Doc = dict[str, Any]
API = "/api" + WS_PATH
COMPUTE_SUMMARY = {"computeType", "computeLocation", "provisioningState", "description",
                   "modifiedOn", "isAttachedCompute", "resourceId", "properties"}
COMPUTE_ONLY_GET = {"createdOn", "provisioningErrors"}
IMAGE_ONLY_GET = {"modelDetails", "imageBuildLogUri"}
SERVICE_ONLY_GET = {"scoringUri", "swaggerUri", "imageDetails", "appInsightsEnabled",
                    "authEnabled"}
STABLE = {
    "compute": ("id", "name", "properties.modifiedOn", "properties.computeType"),
    "image": ("id", "name", "version", "modifiedTime", "modelIds"),
    "service": ("id", "name", "updatedTime", "imageId", "computeType"),
}
SELECTABLE = ("name", "createdTime", "kvTags", "tags", "state", "description")
NODE_STATES = {"idleNodeCount", "runningNodeCount", "preparingNodeCount", "unusableNodeCount",
               "leavingNodeCount", "preemptedNodeCount"}


def dig(doc: Doc, path: str) -> Any:
    for part in path.split("."):
        doc = doc[part]
    return doc


def stable(kind: str, doc: Doc) -> dict[str, Any]:
    return {path: dig(doc, path) for path in STABLE[kind]}


def arm_v(edition: str) -> dict[str, str]:
    return {"api-version": EDITIONS[edition][0]}


def mms_v(edition: str, **extra: str) -> dict[str, str]:
    return {"api-version": EDITIONS[edition][1], **extra}


def listed(emu: Emu, host: str, path: str, query: dict[str, str]) -> list[Doc]:
    response = emu.get(host, path, query)
    assert response.status_code == 200, response.text
    items: list[Doc] = response.json()["value"]
    assert items
    return items


def got(emu: Emu, host: str, path: str, query: dict[str, str]) -> Doc:
    response = emu.get(host, path, query)
    assert response.status_code == 200, response.text
    body: Doc = response.json()
    return body


editions = pytest.mark.parametrize("edition", sorted(EDITIONS))


# -- computes --------------------------------------------------------------------------------

@editions
def test_compute_list_items_are_summaries_and_gets_are_whole(emu: Emu, edition: str) -> None:
    for item in listed(emu, ARM, WS_PATH + "/computes", arm_v(edition)):
        assert set(item) == {"id", "name", "type", "location", "properties"}
        assert set(item["properties"]) == COMPUTE_SUMMARY
        body = got(emu, ARM, f"{WS_PATH}/computes/{item['name']}", arm_v(edition))
        assert body != item
        assert set(body["properties"]) == COMPUTE_SUMMARY | COMPUTE_ONLY_GET
        inner = body["properties"]["properties"]
        assert {"vmSize", "vmPriority", "scaleSettings", *COMPUTE_LIVE} <= set(inner)
        # The list has the settings (SDKs read them there), never the live node counts.
        assert {"vmSize", "scaleSettings"} <= set(item["properties"]["properties"])
        assert not set(COMPUTE_LIVE) & set(item["properties"]["properties"])
        assert stable("compute", item) == stable("compute", body)
        assert {k: body[k] for k in ("type", "location")} == {k: item[k] for k in
                                                              ("type", "location")}


@editions
@pytest.mark.parametrize("inprocess", [False, True])
def test_two_gets_of_a_compute_differ(make_emu: Factory, edition: str, inprocess: bool) -> None:
    emu = make_emu(inprocess=inprocess)
    path = WS_PATH + "/computes/cpu-cluster"
    first, second = (got(emu, ARM, path, arm_v(edition)) for _ in range(2))
    assert first != second
    assert stable("compute", first) == stable("compute", second)
    inner = [body["properties"].pop("properties") for body in (first, second)]
    assert first == second  # only the nested properties moved on ...
    settled = [{k: v for k, v in part.items() if k not in COMPUTE_LIVE} for part in inner]
    assert settled[0] == settled[1]  # ... and there, only the live fields


def test_compute_node_state_follows_a_scaling_cycle(emu: Emu) -> None:
    """From a fresh store: steady at 0, resizing up, steady at the maximum, resizing down."""
    path = WS_PATH + "/computes/gpu-cluster"
    seen = [got(emu, ARM, path, arm_v("2019-11-01"))["properties"]["properties"]
            for _ in range(5)]
    assert [(s["allocationState"], s["currentNodeCount"], s["targetNodeCount"]) for s in seen] == [
        ("Steady", 0, 0), ("Resizing", 2, 4), ("Steady", 4, 4), ("Resizing", 4, 0),
        ("Steady", 0, 0)]
    for state in seen:
        assert set(state["nodeStateCounts"]) == NODE_STATES
        assert sum(state["nodeStateCounts"].values()) == state["currentNodeCount"]
    times = [s["allocationStateTransitionTime"] for s in seen]
    assert times == sorted(times) and len(set(times)) == 5
    assert times[0] == "2024-03-01T09:17:00.0000000+00:00"  # modifiedOn 09:16 + 1 read


def test_compute_reads_are_counted_in_the_store(make_emu: Factory) -> None:
    """Two apps over one database continue one sequence; the count is per compute."""
    local, server = make_emu(inprocess=True), make_emu()
    path = WS_PATH + "/computes/cpu-cluster"
    state = [got(emu, ARM, path, arm_v("2019-11-01"))["properties"]["properties"]
             for emu in (local, server)]
    assert [s["allocationState"] for s in state] == ["Steady", "Resizing"]
    other = got(server, ARM, WS_PATH + "/computes/gpu-cluster", arm_v("2019-11-01"))
    assert other["properties"]["properties"]["allocationState"] == "Steady"
    assert server.store.count_read(DEMO_WS_KEY, "compute", "cpu-cluster") == 3


def test_read_counts_go_with_their_item_and_workspace(emu: Emu) -> None:
    store = emu.store
    assert [store.count_read(DEMO_WS_KEY, "compute", "gpu-cluster") for _ in range(2)] == [1, 2]
    assert store.delete(DEMO_WS_KEY, "compute", "gpu-cluster")
    assert store.count_read(DEMO_WS_KEY, "compute", "gpu-cluster") == 1  # a new item starts over
    store.count_read(DEMO_EU_WS_KEY, "compute", "cpu-cluster")
    assert store.delete_workspace(DEMO_EU_WS_KEY)
    assert store.count_read(DEMO_EU_WS_KEY, "compute", "cpu-cluster") == 1


# -- images ----------------------------------------------------------------------------------

@editions
def test_image_list_items_leave_out_what_a_get_adds(emu: Emu, edition: str) -> None:
    for item in listed(emu, MMS, API + "/images", mms_v(edition)):
        assert not IMAGE_ONLY_GET & set(item)
        body = got(emu, MMS, f"{API}/images/{item['id'].replace(':', '%3A')}", mms_v(edition))
        assert body != item and set(body) >= IMAGE_ONLY_GET
        assert {k: v for k, v in body.items() if k not in IMAGE_ONLY_GET} == item
        assert stable("image", item) == stable("image", body)
        assert {k: item[k] for k in SELECTABLE if k in body} == {
            k: body[k] for k in SELECTABLE if k in body}
        models = [emu.store.get(DEMO_WS_KEY, "model", m) for m in item["modelIds"]]
        assert body["modelDetails"] == [
            {k: m.doc[k] for k in ("id", "name", "version", "framework", "createdTime")}
            for m in models if m is not None]
        assert body["imageBuildLogUri"].startswith("https://demowsstore.blob.core.windows.net/")


@editions
def test_image_list_with_expand_lists_whole_images(emu: Emu, edition: str) -> None:
    expanded = listed(emu, MMS, API + "/images", mms_v(edition, expand="true"))
    for item in expanded:
        quoted = item["id"].replace(":", "%3A")
        assert item == got(emu, MMS, f"{API}/images/{quoted}", mms_v(edition))
        assert item == got(emu, MMS, f"{API}/images/{quoted}", mms_v(edition, expand="true"))
    plain = listed(emu, MMS, API + "/images", mms_v(edition, expand="false"))
    assert [stable("image", i) for i in plain] == [stable("image", i) for i in expanded]
    assert all(not IMAGE_ONLY_GET & set(i) for i in plain)


def test_image_model_details_skip_models_that_are_gone(emu: Emu) -> None:
    emu.store.patch(DEMO_WS_KEY, "image", "churn-img:1",
                    {"modelIds": ["churn-model:1", "gone-model:9"]})
    body = got(emu, MMS, API + "/images/churn-img%3A1", mms_v("2019-11-01"))
    assert [m["id"] for m in body["modelDetails"]] == ["churn-model:1"]
    assert body["modelIds"] == ["churn-model:1", "gone-model:9"]


# -- services --------------------------------------------------------------------------------

@editions
def test_service_list_items_leave_out_what_a_get_adds(emu: Emu, edition: str) -> None:
    images = {i["id"]: i for i in listed(emu, MMS, API + "/images", mms_v(edition))}
    for item in listed(emu, MMS, API + "/services", mms_v(edition)):
        assert not SERVICE_ONLY_GET & set(item)
        body = got(emu, MMS, f"{API}/services/{item['id']}", mms_v(edition))
        assert body != item and set(body) >= SERVICE_ONLY_GET
        assert {k: v for k, v in body.items() if k not in SERVICE_ONLY_GET} == item
        assert stable("service", item) == stable("service", body)
        assert {k: item[k] for k in SELECTABLE} == {k: body[k] for k in SELECTABLE}
        assert body["imageDetails"] == images[item["imageId"]]
        assert body["scoringUri"].endswith("/score")
        assert body["authEnabled"] is (item["computeType"] == "AKS")


@editions
def test_service_list_with_expand_lists_whole_services(emu: Emu, edition: str) -> None:
    for item in listed(emu, MMS, API + "/services", mms_v(edition, expand="True")):
        assert item == got(emu, MMS, f"{API}/services/{item['id']}", mms_v(edition))


def test_service_image_details_are_null_once_the_image_is_gone(emu: Emu) -> None:
    assert emu.delete(MMS, API + "/images/fraud-img%3A1", mms_v("2019-11-01")).status_code == 200
    body = got(emu, MMS, API + "/services/fraud-svc", mms_v("2019-11-01"))
    assert body["imageDetails"] is None and body["imageId"] == "fraud-img:1"


# -- everything else -------------------------------------------------------------------------

@editions
def test_models_answer_alike_in_lists_and_gets(emu: Emu, edition: str) -> None:
    for item in listed(emu, MMS, API + "/models", mms_v(edition)):
        assert item == got(emu, MMS, f"{API}/models/{item['id'].replace(':', '%3A')}",
                           mms_v(edition))
