"""The run history behind the current API's jobs: one run per job (its name is the run id),
grouped into experiments by the job's `experimentName`, each with metrics, artifacts, and the
blobs a run leaves in the workspace's storage account.

Azure keeps one run history per workspace; the emulator keeps the article-era runs (seed.py)
and these apart, so the article catalogs' plans do not change with the current API's demo.
Store kinds: `jh_experiment` (by experiment id), `jh_run` (by run id, under its experiment),
`jh_metric` (`<run>/<name>`, under its run), `jh_artifact` (`<container>/<path>`, under its
container) and `jh_blob` (`<path in the blob store>`: what stays when the API deletes).
"""

from __future__ import annotations

from collections.abc import Callable

from amlctl.emulator.documents import Doc, User, guid, stamp
from amlctl.emulator.mfe_documents import Actor

# (store kind, store id, document, parent, content)
AddRow = Callable[[str, str, Doc, str, bytes | None], None]

# What every run logs and stores (name, value); artifacts (path, content template)
METRICS = (("accuracy", 0.91), ("loss", 0.27))
ARTIFACTS = (
    ("outputs/model.pkl", b"model bytes of {run}"),
    ("user_logs/std_log.txt", b"started by {who} on {target}\n"),
)


# Tags that name a person on what is not theirs: a colleague's run reviewed by Jane Doe, an
# experiment she owns that holds others' runs (what a rectification removes)
RUN_TAGS = {"fraud-train-01": {"reviewedBy": "Jane Doe"}}
EXPERIMENT_TAGS = {"churn-classifier": {"owner": "Jane Doe"}}


def experiment_id(name: str) -> str:
    return guid("job-experiment", name)


def creator(who: User | Actor | str, ws_name: str) -> Doc:
    """Run history's `createdBy`: a person's Entra object id and name, or the principal's."""
    if isinstance(who, User):
        return who.created_by()
    name = who.name if isinstance(who, Actor) else ws_name
    return {"userObjectId": guid("principal", name), "userTenantId": guid("tenant"),
            "userName": name}


def experiment(name: str, minutes: int) -> Doc:
    return {"experimentId": experiment_id(name), "name": name, "description": None,
            "createdUtc": stamp(minutes), "tags": dict(EXPERIMENT_TAGS.get(name, {})),
            "archivedTime": None, "retainForLifetimeOfWorkspace": False}


def run(name: str, experiment_name: str, created_by: Doc, minutes: int, status: str,
        target: str) -> Doc:
    return {
        "runId": name, "runUuid": guid("run", name), "parentRunId": None, "rootRunId": name,
        "experimentId": experiment_id(experiment_name), "status": status,
        "createdUtc": stamp(minutes), "createdBy": created_by, "userId": created_by["userObjectId"],
        "dataContainerId": f"dcid.{name}", "displayName": name, "target": target,
        "revision": 3, "hidden": False, "runType": "azureml.command",
        "tags": {"mlflow.user": created_by["userName"], **RUN_TAGS.get(name, {})},
        "properties": {"ContentSnapshotId": guid("snapshot", name),
                       "azureml.runsource": "azureml.command"},
    }


def seed_job_run(add: AddRow, ws_name: str, name: str, who: User | Actor | str,
                 experiment_name: str, target: str, status: str, minutes: int) -> None:
    """The run history of one job: its run, metrics, artifacts and their blobs, and the
    snapshot blob of the code it ran."""
    by = creator(who, ws_name)
    doc = run(name, experiment_name, by, minutes, status, target)
    add("jh_run", name, doc, experiment_id(experiment_name), None)
    for metric_name, value in METRICS:
        add("jh_metric", f"{name}/{metric_name}", metric(name, metric_name, value), name, None)
    container = f"dcid.{name}"
    for path, template in ARTIFACTS:
        content = template.replace(b"{run}", name.encode()).replace(
            b"{who}", str(by["userName"]).encode()).replace(b"{target}", target.encode())
        add("jh_artifact", f"{container}/{path}", artifact(container, path, minutes), container,
            None)
        add("jh_blob", f"azureml/ExperimentRun/{container}/{path}", {"path": path}, container,
            content)
    snapshot = doc["properties"]["ContentSnapshotId"]
    add("jh_blob", f"snapshots/{snapshot}/train.py", {"path": "train.py"}, container,
        b"print('training')\n")


def metric(run_id: str, name: str, value: float) -> Doc:
    """A metric v2.0 `MetricDefinition`, with the run's last value (the emulator keeps one)."""
    return {"metricKey": {"namespace": "", "name": name}, "columns": {"value": "Double"},
            "properties": {"uxMetricType": "azureml.v1.scalar", "dataContainerId":
                           f"dcid.{run_id}"},
            "lastValue": value}


def artifact(container: str, path: str, minutes: int) -> Doc:
    return {"origin": "ExperimentRun", "container": container, "path": path,
            "artifactId": f"ExperimentRun/{container}/{path}",
            "createdTime": stamp(minutes, "arm")}
