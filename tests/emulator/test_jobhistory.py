"""The current jobs' run history on the unified host (`{region}.api.azureml.ms`): POST queries
that page in the body, experiments that are deleted only once empty, both long-running
dialects, hard and soft artifact deletes, a job delete that takes its run document along, and
the blobs that stay whatever the API deletes. Real HTTP over loopback."""

from __future__ import annotations

from typing import Any

from amlctl.emulator import EmulatorConfig
from amlctl.emulator.jobhistory_seed import ARTIFACTS, METRICS, experiment_id
from amlctl.emulator.mfe_seed import JOBS
from amlctl.emulator.seed import DEMO_WS_KEY, WORKSPACE

from .conftest import ARM, WS_PATH, Emu, Factory

UNIFIED = "eastus.api.azureml.ms"
HISTORY = f"/history/v1.0{WS_PATH}"
METRIC = f"/metric/v2.0{WS_PATH}"
ARTIFACT = f"/artifact/v2.0{WS_PATH}/artifacts"
CHURN = experiment_id("churn-classifier")  # two of Jane Doe's jobs and her namesake's


def post(emu: Emu, path: str, body: dict[str, Any]) -> Any:
    return emu.session.post(emu.url(UNIFIED, path), json=body, timeout=10)


def every_page(emu: Emu, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    sent = dict(body)
    while True:
        reply = post(emu, path, sent)
        assert reply.status_code == 200, reply.text
        doc = reply.json()
        found += doc["value"]
        if not doc["continuationToken"]:
            return found
        sent = {**body, "continuationToken": doc["continuationToken"]}


def test_queries_page_through_every_experiment_and_run_with_a_token_in_the_body(
    make_emu: Factory,
) -> None:
    emu = make_emu(EmulatorConfig().with_page_size(1))
    experiments = every_page(emu, f"{HISTORY}/experiments:query", {"viewType": "All"})
    mine = {job[4] for job in JOBS if job[0] == WORKSPACE}
    assert {e["name"] for e in experiments} == mine
    runs = every_page(emu, f"{HISTORY}/experimentids/{CHURN}/runs:query", {})
    expected = {job[1] for job in JOBS if job[0] == WORKSPACE and job[4] == "churn-classifier"}
    assert {r["runId"] for r in runs} == expected
    # who started a run is named by Entra object id, the key to a person
    assert all(r["createdBy"]["userObjectId"] for r in runs)


def test_an_experiment_that_holds_a_run_is_not_deleted(emu: Emu) -> None:
    reply = emu.delete(UNIFIED, f"{HISTORY}/experimentids/{CHURN}")
    assert reply.status_code == 409
    assert "Only empty Experiments can be deleted" in reply.json()["error"]["message"]
    assert emu.store.get(DEMO_WS_KEY, "jh_experiment", CHURN) is not None


def test_deleting_the_jobs_empties_the_experiment_which_is_then_deleted_by_polling(
    emu: Emu,
) -> None:
    runs = [job[1] for job in JOBS if job[0] == WORKSPACE and job[4] == "churn-classifier"]
    for run in runs:
        job = emu.delete(ARM, f"{WS_PATH}/jobs/{run}", {"api-version": "2026-05-01"})
        assert job.status_code == 202  # ARM's dialect: 202, Location, Retry-After
        assert emu.get(UNIFIED, f"{HISTORY}/runs/{run}").status_code == 404  # the run went too
    reply = emu.delete(UNIFIED, f"{HISTORY}/experimentids/{CHURN}")
    assert reply.status_code == 202  # run history's dialect: 202 and a Location to poll
    polled = emu.follow(reply.headers["Location"])
    while polled.status_code == 202:
        polled = emu.follow(polled.headers["Location"])
    assert polled.status_code == 200
    assert emu.get(UNIFIED, f"{HISTORY}/experimentids/{CHURN}").status_code == 404


def test_metrics_are_deleted_at_once_per_run(emu: Emu) -> None:
    run = "churn-train-01"
    listed = post(emu, f"{METRIC}/runs/{run}/list", {}).json()["value"]
    assert {m["metricKey"]["name"] for m in listed} == {name for name, _ in METRICS}
    reply = emu.delete(UNIFIED, f"{METRIC}/runs/{run}/deleteMetrics")
    assert (reply.status_code, reply.json()) == (200, {})  # finished: nothing to poll
    assert post(emu, f"{METRIC}/runs/{run}/list", {}).json()["value"] == []
    # another run's metrics are untouched
    assert post(emu, f"{METRIC}/runs/churn-train-03/list", {}).json()["value"]


def test_a_soft_artifact_delete_hides_the_records_and_a_hard_one_removes_them(emu: Emu) -> None:
    container = "dcid.churn-train-01"
    records = f"{ARTIFACT}/ExperimentRun/{container}"
    assert len(emu.get(UNIFIED, records).json()["value"]) == len(ARTIFACTS)

    soft = emu.delete(UNIFIED, f"{records}/batch", {"hardDelete": "false"})
    assert soft.status_code == 200
    assert emu.get(UNIFIED, records).json()["value"] == []  # hidden from the API ...
    kept = emu.store.children(DEMO_WS_KEY, "jh_artifact", container)
    assert len(kept) == len(ARTIFACTS)  # ... but kept, so it can be brought back

    hard = emu.delete(UNIFIED, f"{records}/batch", {"hardDelete": "true"})
    assert hard.status_code == 200
    assert emu.store.children(DEMO_WS_KEY, "jh_artifact", container) == []


def test_the_blobs_of_a_run_outlive_every_api_delete(emu: Emu) -> None:
    run, container = "churn-train-01", "dcid.churn-train-01"
    before = emu.store.children(DEMO_WS_KEY, "jh_blob", container)
    assert len(before) == len(ARTIFACTS) + 1  # the artifacts' bytes and the code snapshot
    listed = emu.get(UNIFIED, f"{ARTIFACT}/prefix/contentinfo/ExperimentRun/{container}")
    links = [info["contentUri"] for info in listed.json()["value"]]
    emu.delete(UNIFIED, f"{ARTIFACT}/ExperimentRun/{container}/batch", {"hardDelete": "true"})
    emu.delete(UNIFIED, f"{METRIC}/runs/{run}/deleteMetrics")
    emu.delete(ARM, f"{WS_PATH}/jobs/{run}", {"api-version": "2026-05-01"})
    after = emu.store.children(DEMO_WS_KEY, "jh_blob", container)
    assert [b.id for b in after] == [b.id for b in before]
    # and their SAS links still serve the bytes, as storage would
    assert all(emu.follow(link).status_code == 200 for link in links)


def test_tags_are_rectified_by_deleting_them(emu: Emu) -> None:
    run = "fraud-train-01"
    before = emu.get(UNIFIED, f"{HISTORY}/runs/{run}").json()
    assert before["tags"]["reviewedBy"] == "Jane Doe"
    reply = emu.session.delete(emu.url(UNIFIED, f"{HISTORY}/runs/{run}/tags"),
                               json=["reviewedBy"], timeout=10)
    assert reply.status_code == 200
    after = reply.json()
    assert "reviewedBy" not in after["tags"] and after["tags"]["mlflow.user"] == "Sam Patel"
    assert after["revision"] == before["revision"] + 1
    bad = emu.session.delete(emu.url(UNIFIED, f"{HISTORY}/runs/{run}/tags"),
                             json={"tags": "reviewedBy"}, timeout=10)
    assert bad.status_code == 400  # the keys go as a JSON array

    reply = post(emu, f"{HISTORY}/experimentids/{CHURN}/tags:delete", {"tags": ["owner", "x"]})
    assert reply.status_code == 200
    assert list(reply.json()["errors"]) == ["x"]  # the key it did not have
    experiment = emu.get(UNIFIED, f"{HISTORY}/experimentids/{CHURN}").json()
    assert experiment["tags"] == {}
