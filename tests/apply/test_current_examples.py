"""The current-API examples end to end on the loopback emulator: `plans/examples/current-dsr.yaml`
erases exactly the data subject's items, item by item against the seed, in an order the
service accepts; `current-teardown.yaml` deletes a workspace's children, then soft-deletes the
workspace. Both plan, apply and verify through the real CLI (`--endpoint`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from apply_helpers import Emulator, Planned, cli, make_plan, plan_manifest, ws_key

from amlctl.emulator.jobhistory_seed import EXPERIMENT_TAGS, RUN_TAGS, experiment_id
from amlctl.emulator.mfe_documents import code_name
from amlctl.emulator.mfe_seed import ASSETS, CONTAINER_KINDS, JOBS, Owned, owned
from amlctl.emulator.people import NAMESAKE, SUBJECT
from amlctl.emulator.seed import RESOURCE_GROUP, SUBSCRIPTION, WORKSPACE, WORKSPACE_EU

DSR = "current-dsr"
TEARDOWN = "current-teardown"
PROVIDER_PATH = "/providers/Microsoft.MachineLearningServices/workspaces/"
# the current catalog's kinds -> URL segments under the workspace (and under their parent)
SEGMENTS = {"compute": "computes", "job": "jobs", "schedule": "schedules", "model": "models",
            "data": "data", "environment": "environments", "component": "components",
            "code": "codes", "datastore": "datastores", "connection": "connections",
            "online_endpoint": "onlineEndpoints", "batch_endpoint": "batchEndpoints",
            "featureset": "featuresets", "featurestore_entity": "featurestoreEntities",
            "serverless_endpoint": "serverlessEndpoints",
            "marketplace_subscription": "marketplaceSubscriptions"}
# what the DSR example deletes of hers (its delete selectors' kinds)
DSR_DELETES = {"compute", "job", "schedule", "model_version", "data_version", "data",
               "environment_version", "environment", "code_version", "code",
               "online_deployment", "online_endpoint", "connection"}


def apply_and_verify(emu: Emulator, planned: Planned) -> None:
    applied = cli("apply", str(planned.path), "--endpoint", emu.origin, "--yes")
    assert applied.code == 0, applied.text
    verified = cli("verify", str(planned.path), "--endpoint", emu.origin, "--manual-done", "all")
    assert verified.code == 0, verified.text
    assert planned.receipt()["complete"] is True


def store_key(item: Owned) -> tuple[str, str, str]:
    """Where the emulator keeps a seeded item: (workspace key, store kind, store id)."""
    kind = f"{item.kind}_container" if item.kind in CONTAINER_KINDS.values() else item.kind
    item_id = f"{item.parent}/{item.name}" if item.parent else item.name
    return ws_key(item.workspace), kind, item_id


def item_path(item: Owned) -> str:
    """The item's path below its workspace, as a DELETE of it names it."""
    if item.kind.endswith("_version"):
        parent_kind = item.kind.removesuffix("_version")
        return f"{SEGMENTS[parent_kind]}/{item.parent}/versions/{item.name}"
    if item.kind.endswith("_deployment"):
        endpoint = item.kind.replace("_deployment", "_endpoint")
        return f"{SEGMENTS[endpoint]}/{item.parent}/deployments/{item.name}"
    return f"{SEGMENTS[item.kind]}/{item.name}"


def deleted_paths(emu: Emulator) -> list[tuple[str, str]]:
    """(workspace, path below it) of every DELETE the emulator received, in order."""
    found = []
    for entry in emu.deletes():
        path = unquote(urlsplit(entry["path"]).path)
        _, _, below = path.partition(PROVIDER_PATH)
        workspace, _, rest = below.partition("/")
        found.append((workspace, rest))
    return found


def hers_to_delete(item: Owned) -> bool:
    """Whether the DSR example erases this seeded item: the subject (by object id, so never
    her namesake) made it, its kind is one the example deletes, and, for a container, every
    version in it is hers too (the service keeps a container that holds others' versions)."""
    if item.user is None or item.user.object_id != SUBJECT.object_id:
        return False
    if item.kind not in DSR_DELETES:
        return False
    if item.kind in CONTAINER_KINDS.values():
        versions = next(v for ws, _, name, _, v in ASSETS
                        if ws == item.workspace and name == item.name)
        return all(by == SUBJECT for _, by, _ in versions)
    return True


def run_history_paths(expected: list[Owned]) -> list[tuple[str, str]]:
    """The run-history deletes of the DSR example, below their workspace: each of her jobs'
    artifact records and metrics, and each experiment only her jobs are in."""
    jobs = [item for item in expected if item.kind == "job"]
    paths = [(job.workspace, path) for job in jobs for path in (
        f"runs/{job.name}/deleteMetrics", f"artifacts/ExperimentRun/dcid.{job.name}/batch")]
    for ws, experiment in {(j[0], j[4]) for j in JOBS}:
        runs = [j for j in JOBS if (j[0], j[4]) == (ws, experiment)]
        if all(j[2] == SUBJECT for j in runs):
            paths.append((ws, f"experimentids/{experiment_id(experiment)}"))
    # rectified: the tag naming her on a colleague's run (the shared experiment's tag goes by
    # a POST, Experiments_DeleteTags, so it is no DELETE)
    paths += [(WORKSPACE, f"runs/{run}/tags") for run in RUN_TAGS]
    return paths


def test_current_dsr_erases_her_items_and_nothing_else(emu: Emulator, work: Path) -> None:
    planned = make_plan(emu, DSR)
    assert planned.doc["catalog"]["name"] == "azureml-2026-05-01"  # the alias is resolved
    seeded = list(owned())
    expected = [item for item in seeded if hers_to_delete(item)]
    assert {item.kind for item in expected} == DSR_DELETES  # every delete selector has work
    history = run_history_paths(expected)
    rectified = len(EXPERIMENT_TAGS)  # deleted by POST
    assert len(planned.deletes) == len(expected) + len(history) + rectified
    assert not planned.of("blocked")

    apply_and_verify(emu, planned)

    for item in seeded:
        present = emu.store.get(*store_key(item)) is not None
        assert present != hers_to_delete(item), (item, present)
    # the namesake's compute instance, an application's model version and the colleague's
    # deployment of the same name as hers are all still there
    namesake = [i for i in seeded if i.user == NAMESAKE]
    assert namesake and all(emu.store.get(*store_key(i)) is not None for i in namesake)
    # and the service was asked to delete exactly her items, each once
    sent = deleted_paths(emu)
    assert sorted(sent) == sorted([*((i.workspace, item_path(i)) for i in expected), *history])


def test_current_dsr_deletes_in_an_order_the_service_accepts(emu: Emulator, work: Path) -> None:
    planned = make_plan(emu, DSR)
    apply_and_verify(emu, planned)
    order = {path: n for n, (ws, path) in enumerate(deleted_paths(emu)) if ws == WORKSPACE}
    deployment = "onlineEndpoints/churn-endpoint/deployments/blue"
    code = code_name(WORKSPACE, "churn-score")
    for used in ("models/churn-classifier/versions/2", "environments/churn-env/versions/1",
                 f"codes/{code}/versions/1", "onlineEndpoints/churn-endpoint"):
        assert order[deployment] < order[used], used  # the deployment goes first
    for version, container in (("data/customer-churn-raw/versions/1", "data/customer-churn-raw"),
                               ("environments/churn-env/versions/1", "environments/churn-env")):
        assert order[version] < order[container]
    # every long-running delete was polled to its end: Location-only and both dialects
    polls = [e["path"] for e in emu.log() if "OperationResults" in e["path"]
             or "OperationsStatus" in e["path"]]
    assert any("/mfeOperationResults/" in p for p in polls)  # jobs, schedules: Location
    assert any("/mfeOperationsStatus/" in p for p in polls)  # endpoints: Azure-AsyncOperation
    assert any("/computeOperationsStatus/" in p for p in polls)


def test_current_dsr_exports_only_what_names_her(emu: Emulator, work: Path) -> None:
    planned = make_plan(emu, DSR)
    apply_and_verify(emu, planned)
    files = [f for f in planned.export_root.rglob("*.json") if f.name != "index.json"]
    assert len(files) == len(planned.exports)
    for file in files:
        doc: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
        creator = (doc.get("properties", {}).get("properties") or {}).get("createdBy")
        if isinstance(creator, dict):  # a compute instance: her object id
            assert creator["userId"] == SUBJECT.object_id, file
        elif "createdBy" in doc:  # her run in run history
            assert doc["createdBy"]["userObjectId"] == SUBJECT.object_id, file
        elif "systemData" not in doc:  # a run's metrics or one of its files: her run's
            run = str(doc.get("runId") or doc.get("container", "").removeprefix("dcid."))
            assert any(j[1] == run and j[2] == SUBJECT for j in JOBS), file
        else:
            assert (doc["systemData"]["createdBy"], doc["systemData"]["createdByType"]) == (
                "Jane Doe", "User"), file
        assert "FAKE-" not in file.read_text(encoding="utf-8")  # no secret ever exported


def test_current_teardown_deletes_children_then_soft_deletes_the_workspace(
    emu: Emulator, work: Path
) -> None:
    planned = make_plan(emu, TEARDOWN)
    assert planned.doc["catalog"]["name"] == "azureml-2026-05-01"
    apply_and_verify(emu, planned)
    sent = deleted_paths(emu)
    assert sent[-1] == (WORKSPACE_EU, "")  # the workspace last
    order = {path: n for n, (_, path) in enumerate(sent)}
    assert order["schedules/eu-weekly"] < order["jobs/eu-weekly-20240310"]  # its maker first
    assert order["onlineEndpoints/churn-eu-endpoint/deployments/blue"] < order[
        "onlineEndpoints/churn-eu-endpoint"]
    assert all(ws == WORKSPACE_EU for ws, _ in sent)
    # soft-deleted: gone from the API, kept (hidden) for 14 days with its assets
    deleted = emu.store.deleted_workspace(SUBSCRIPTION, RESOURCE_GROUP, WORKSPACE_EU)
    assert deleted is not None and deleted.purge_after > deleted.deleted_at
    assert emu.store.get_workspace(SUBSCRIPTION, RESOURCE_GROUP, WORKSPACE_EU) is None
    assert emu.store.get(ws_key(WORKSPACE_EU), "model_version", "churn-eu/1") is not None
    assert emu.store.count(ws_key(WORKSPACE_EU), "compute") == 0
    # the other workspace is untouched
    assert emu.store.get_workspace(SUBSCRIPTION, RESOURCE_GROUP, WORKSPACE) is not None


def test_a_version_a_deployment_takes_up_after_the_plan_fails_its_delete(
    emu: Emulator, work: Path
) -> None:
    """The service's 409 for a version in use, which the plan could not foresee (a deployment
    took it up after the plan), is a blocked delete the receipt shows, never "absent"."""
    manifest = work / "sandbox.yaml"
    manifest.write_text(
        "version: 1\nname: sandbox\ncatalog: azureml-current\n"
        f"workspaces:\n  - {{subscriptionId: {SUBSCRIPTION}, resourceGroup: {RESOURCE_GROUP}, "
        f"workspace: {WORKSPACE}, location: eastus}}\n"
        "delete:\n  select:\n    - kind: model_version\n      where: "
        "{properties.description: {equals: sandbox-model version 1}}\n",
        encoding="utf-8")
    planned = plan_manifest(emu, manifest)
    assert [c["id"] for c in planned.deletes] == ["sandbox-model/1"]
    key = ws_key(WORKSPACE)
    green = emu.store.get(key, "online_deployment", "fraud-endpoint/green")
    version = emu.store.get(key, "model_version", "sandbox-model/1")
    assert green is not None and version is not None
    emu.store.patch(key, "online_deployment", "fraud-endpoint/green",
                    {"properties": {**green.doc["properties"], "model": version.doc["id"]}})
    applied = cli("apply", str(planned.path), "--endpoint", emu.origin, "--yes")
    assert applied.code == 3, applied.text
    assert "blocked" in applied.text and "fraud-endpoint/green" in applied.text
    assert emu.store.get(key, "model_version", "sandbox-model/1") is not None
    receipt = planned.receipt()
    assert receipt["complete"] is False
    item = next(i for i in receipt["items"] if i["action"] == "delete")
    assert (item["result"], item["status"]) == ("blocked", 409)


def test_versions_named_alike_in_two_containers_are_two_changes(
    emu: Emulator, work: Path
) -> None:
    manifest = work / "versions.yaml"
    manifest.write_text(
        "version: 1\nname: versions\ncatalog: azureml-current\n"
        f"workspaces:\n  - {{subscriptionId: {SUBSCRIPTION}, resourceGroup: {RESOURCE_GROUP}, "
        f"workspace: {WORKSPACE}, location: eastus}}\n"
        "export:\n  to: out\n  select:\n    - {kind: model_version, all: true}\n",
        encoding="utf-8")
    planned = plan_manifest(emu, manifest)
    seeded = [i for i in owned() if i.workspace == WORKSPACE and i.kind == "model_version"]
    assert len({i.parent for i in seeded if i.name == "1"}) > 1  # the seed has the case
    assert len(planned.exports) == len(seeded)
