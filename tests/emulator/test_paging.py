"""Every paging family walked to its last item, with page sizes 1, 2 and the default, and with
empty pages that still carry a next link."""

from __future__ import annotations

from typing import Any

import pytest

from amlctl.emulator import EmulatorConfig
from amlctl.emulator.seed import DEMO_WS_KEY, SUBJECT_RUN_IDS

from .conftest import ARM, ARM_V, HISTORY, MMS, MMS_V, RG_PATH, WS_PATH, Emu, Factory

PROVIDER = "/providers/Microsoft.MachineLearningServices"
SUBJECT_RUN = SUBJECT_RUN_IDS[0]

# name -> (host, path, query, style, id field, expected ids from the store)
LINKED = {  # value + absolute nextLink
    "workspaces": (ARM, RG_PATH + PROVIDER + "/workspaces", ARM_V, "id"),
    "computes": (ARM, WS_PATH + "/computes", ARM_V, "name"),
    "models": (MMS, "/api" + WS_PATH + "/models", MMS_V, "id"),
    "assets": (MMS, "/api" + WS_PATH + "/assets", MMS_V, "id"),
    "images": (MMS, "/api" + WS_PATH + "/images", MMS_V, "id"),
    "services": (MMS, "/api" + WS_PATH + "/services", MMS_V, "id"),
}
TOKENED = {  # value + continuationToken
    "experiments": (HISTORY, "/history/v1.0" + WS_PATH + "/experiments", "name"),
    "runs": (HISTORY, "/history/v1.0" + WS_PATH + "/experiments/churn-model/runs", "runId"),
    "metrics": (HISTORY, "/history/v1.0" + WS_PATH + "/experiments/churn-model/metrics",
                "metricId"),
    "artifacts": (HISTORY, "/artifact/v1.0" + WS_PATH
                  + f"/artifacts/origins/ExperimentRun/containers/dcid.{SUBJECT_RUN}", "path"),
    "tasks": (HISTORY, "/notification/v1.0" + WS_PATH + "/tasks", "taskId"),
    "datastores": (HISTORY, "/datastore/v1.0" + WS_PATH + "/datastores", "name"),
}
EXPECTED = {"workspaces": 2, "computes": 2, "models": 5, "assets": 5, "images": 2,
            "services": 2, "experiments": 3, "runs": 3, "metrics": 6, "artifacts": 3, "tasks": 3,
            "datastores": 4}


def walk_linked(emu: Emu, name: str) -> tuple[list[str], int]:
    host, path, query, field = LINKED[name]
    response = emu.get(host, path, query)
    ids, calls = [], 1
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        ids += [item[field] for item in body["value"]]
        if not body.get("nextLink"):
            return ids, calls
        assert body["nextLink"].startswith(emu.origin + "/" + host + "/")
        response, calls = emu.follow(body["nextLink"]), calls + 1


def walk_tokened(emu: Emu, name: str, token_param: str = "continuationToken") -> tuple[
        list[str], int]:
    host, path, field = TOKENED[name]
    ids, calls, token = [], 0, None
    while True:
        query: dict[str, str] | None = {token_param: token} if token else None
        response, calls = emu.get(host, path, query), calls + 1
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert body["nextLink"] is None
        ids += [item[field] for item in body["value"]]
        token = body["continuationToken"]
        if token is None:
            return ids, calls


def pages(count: int, size: int | None, default: int) -> int:
    per_page = size or default
    return max(1, -(-count // per_page))


@pytest.mark.parametrize("size", [1, 2, None])
@pytest.mark.parametrize("name", sorted(LINKED))
def test_next_link_paging_reaches_the_last_item(make_emu: Factory, name: str,
                                                size: int | None) -> None:
    config = EmulatorConfig().with_page_size(size) if size else None
    emu = make_emu(config)
    ids, calls = walk_linked(emu, name)
    assert len(ids) == EXPECTED[name] == len(set(ids))
    assert ids == sorted(ids, key=lambda i: i.lower()) or name == "workspaces"
    assert calls == pages(EXPECTED[name], size, 100)


@pytest.mark.parametrize("size", [1, 2, None])
@pytest.mark.parametrize("name", sorted(TOKENED))
def test_continuation_token_paging_reaches_the_last_item(make_emu: Factory, name: str,
                                                         size: int | None) -> None:
    config = EmulatorConfig().with_page_size(size) if size else None
    emu = make_emu(config)
    ids, calls = walk_tokened(emu, name)
    assert len(ids) == EXPECTED[name] == len(set(ids))
    assert calls == pages(EXPECTED[name], size, 30 if name == "datastores" else 100)


def test_run_history_accepts_the_dollar_token_name(make_emu: Factory) -> None:
    emu = make_emu(EmulatorConfig().with_page_size(1))
    ids, calls = walk_tokened(emu, "runs", token_param="$continuationtoken")
    assert len(ids) == 3 and calls == 3


@pytest.mark.parametrize("name", ["models", "computes"])
def test_empty_pages_carry_a_next_link(make_emu: Factory, name: str) -> None:
    emu = make_emu(EmulatorConfig(empty_pages=2).with_page_size(2))
    host, path, query, _ = LINKED[name]
    first = emu.get(host, path, query).json()
    assert first["value"] == [] and first["nextLink"]
    ids, calls = walk_linked(emu, name)
    assert len(ids) == EXPECTED[name]
    real_pages = pages(EXPECTED[name], 2, 100)
    assert calls == real_pages * 3  # two empty pages before each real one


def test_empty_pages_with_continuation_tokens(make_emu: Factory) -> None:
    emu = make_emu(EmulatorConfig(empty_pages=1).with_page_size(2))
    ids, calls = walk_tokened(emu, "metrics")
    assert len(ids) == 6 and calls == 6


def test_client_page_size_parameters_are_honoured(emu: Emu) -> None:
    models = emu.get(MMS, "/api" + WS_PATH + "/models", {**MMS_V, "count": "2"}).json()
    assert len(models["value"]) == 2 and "count=2" in models["nextLink"]
    stores = emu.get(HISTORY, "/datastore/v1.0" + WS_PATH + "/datastores", {"count": "3"}).json()
    assert len(stores["value"]) == 3 and stores["continuationToken"]
    runs = emu.get(HISTORY, TOKENED["runs"][1], {"$top": "1"}).json()
    assert len(runs["value"]) == 1 and runs["continuationToken"]


def test_mms_filters_narrow_the_list(emu: Emu) -> None:
    by_run = emu.get(MMS, "/api" + WS_PATH + "/models", {**MMS_V, "runId": SUBJECT_RUN}).json()
    assert [m["id"] for m in by_run["value"]] == ["churn-model:1"]
    using = emu.get(MMS, "/api" + WS_PATH + "/images",
                    {**MMS_V, "modelId": "churn-model:1"}).json()
    assert [i["id"] for i in using["value"]] == ["churn-img:1"]


def test_paging_sees_the_store(emu: Emu) -> None:
    ids, _ = walk_linked(emu, "models")
    stored = [item.id for item in emu.store.page(DEMO_WS_KEY, "model")]
    assert ids == stored


def test_a_foreign_token_is_a_bad_request(emu: Emu) -> None:
    response = emu.get(HISTORY, TOKENED["runs"][1], {"continuationToken": "not-a-token"})
    assert response.status_code == 400
    assert response.json()["error"]["innerError"]["code"] == "InvalidContinuationToken"
