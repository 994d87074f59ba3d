"""Every operation of every built-in catalog answers (200 for reads, a delete status for
deletes) against the demo data, over loopback."""

from __future__ import annotations

import pytest

from amlctl.catalog import Operation
from amlctl.catalog.expand import expand
from amlctl.catalog.load import BUILTIN_CATALOGS, load_catalog
from amlctl.emulator.jobhistory_seed import experiment_id
from amlctl.emulator.mfe_documents import code_name
from amlctl.emulator.seed import (
    DEMO_PIPELINE_IDS,
    DEMO_WS_KEY,
    RESOURCE_GROUP,
    SUBJECT_RUN_IDS,
    SUBSCRIPTION,
    WORKSPACE,
    WORKSPACE_LOCATION,
)
from amlctl.inventory.needs import with_parents

from .conftest import Emu

RUN = SUBJECT_RUN_IDS[0]


# The current catalog's run-history kinds: the one run of experiment "sandbox", so that its
# delete (a job's) leaves the experiment empty for the experiment's delete, which goes last.
CURRENT_RUN = {"experimentId": experiment_id("sandbox"), "runId": "sandbox-01",
               "containerId": "dcid.sandbox-01", "key": "mlflow.user"}
RUN_HISTORY = {"experiment", "run", "metrics", "artifact", "artifact_container", "run_tag",
               "experiment_tag"}


def values(emu: Emu, kind: str, catalog: str = "") -> dict[str, str]:
    """Template values naming an existing demo item of `kind` (in `catalog`)."""
    scope = {"subscriptionId": SUBSCRIPTION, "resourceGroupName": RESOURCE_GROUP,
             "workspaceName": WORKSPACE, "location": WORKSPACE_LOCATION}
    if catalog == "azureml-2026-05-01" and kind in RUN_HISTORY:
        return {**scope, **CURRENT_RUN}
    metric = emu.store.page(DEMO_WS_KEY, "metric", parent="churn-model", limit=1)[0].id
    asset = emu.store.page(DEMO_WS_KEY, "asset", limit=1)[0].id
    per_kind = {
        "compute": {"computeName": "cpu-cluster"},
        "run": {"experimentName": "churn-model", "runId": RUN},
        "metric": {"experimentName": "churn-model", "metricId": metric},
        "artifact": {"containerId": f"dcid.{RUN}"},
        "notification_task": {"taskId": "5f0e8c3a-0000-4000-8000-00000000a001"},
        "datastore": {"name": "workspaceblobstore", "datastoreName": "trainingdata"},
        "model": {"id": "churn-model:2", "modelName": "sandbox-model"},
        "asset": {"id": asset},
        "image": {"id": "fraud-img:1"},
        "service": {"id": "churn-svc"},
        "pipeline_experiment": {"experimentId": DEMO_PIPELINE_IDS["Experiments"]},
        "pipeline_graph": {"graphId": DEMO_PIPELINE_IDS["Graphs"]},
        "pipeline_module": {"id": DEMO_PIPELINE_IDS["Modules"]},
        "pipeline_template": {"templateId": DEMO_PIPELINE_IDS["Templates"]},
        "pipeline_datasource": {"id": DEMO_PIPELINE_IDS["DataSources"]},
        # the current API: containers whose every version the test deletes first, and
        # endpoints whose deployments it deletes first (or which take them along)
        "job": {"jobName": "churn-train-01"},
        "schedule": {"scheduleName": "nightly-retrain"},
        "data": {"dataName": "fraud-transactions"},
        "environment": {"environmentName": "sandbox-env"},
        "component": {"componentName": "train-step"},
        "code": {"codeName": code_name(WORKSPACE, "sandbox")},
        "connection": {"connectionName": "team-openai"},
        "online_endpoint": {"endpointName": "fraud-endpoint"},
        "online_deployment": {"endpointName": "fraud-endpoint", "deploymentName": "blue"},
        "batch_endpoint": {"endpointName": "fraud-batch"},
        "batch_deployment": {"endpointName": "fraud-batch", "deploymentName": "default"},
        "featureset": {"featuresetName": "customer-features"},
        "featurestore_entity": {"entityName": "customer"},
        "serverless_endpoint": {"endpointName": "llama-chat"},
        "marketplace_subscription": {"name": "llama-3-8b"},
    }
    container = kind.removesuffix("_version")
    if kind.endswith("_version"):
        return {**scope, **per_kind[container], "version": "1"}
    return {**scope, **per_kind.get(kind, {})}


@pytest.mark.parametrize("name", BUILTIN_CATALOGS)
def test_every_catalog_operation_answers(emu: Emu, name: str) -> None:
    catalog = load_catalog(name)

    def order(op: Operation) -> tuple[bool, bool, bool, int]:
        """Reads first; then deletes of what lies under another item (versions, deployments),
        the deepest first (a run's tags before the run), then the rest, then the workspace."""
        kind = catalog.kind(op.kind)
        top = kind.parent is None or catalog.kind(kind.parent).scope
        return (op.name == "delete", kind.scope, top, -len(with_parents(catalog, kind)))

    operations = sorted(catalog.operations(), key=order)
    assert len(operations) >= 30
    for op in operations:
        given = values(emu, op.kind, catalog.name)
        url = expand(op, given, catalog.hosts)
        routed = emu.origin + "/" + url.removeprefix("https://")
        body = op.body_for(given) if op.name == "delete" else op.query  # as the client sends
        response = emu.session.request(op.method, routed, json=body, timeout=10)
        expected = {200, 202, 204} if op.method == "DELETE" else {200}
        assert response.status_code in expected, (op.kind, op.name, url, response.text)
