"""The catalog of the current ARM API (`azureml-current`): its alias, its calls, and the
dependencies it declares as data."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from amlctl.catalog import BUILTIN_CATALOGS, CATALOG_ALIASES, Catalog, load_catalog
from amlctl.catalog.load import is_builtin
from amlctl.cli import main

CURRENT = "azureml-2026-05-01"
# Every workspace child the catalog covers: a listed, fetched and deleted collection each.
KINDS = {
    "workspace", "compute", "job", "schedule",
    "model", "model_version", "data", "data_version", "environment", "environment_version",
    "component", "component_version", "code", "code_version",
    "datastore", "connection",
    "online_endpoint", "online_deployment", "batch_endpoint", "batch_deployment",
    "featureset", "featureset_version", "featurestore_entity", "featurestore_entity_version",
    "serverless_endpoint", "marketplace_subscription",
}
# Run history, metrics and artifacts on the unified data-plane host
RUN_HISTORY = {"experiment", "run", "metrics", "artifact", "artifact_container", "run_tag",
               "experiment_tag"}
SYNC = {"model", "model_version", "data", "data_version", "environment", "environment_version",
        "component", "component_version", "code", "code_version", "datastore", "connection"}
ONLY_202 = {"serverless_endpoint", "marketplace_subscription"}
ARCHIVABLE = {"job", "model", "model_version", "data", "data_version", "environment",
              "environment_version", "component", "component_version", "featureset",
              "featureset_version", "featurestore_entity", "featurestore_entity_version"}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog("azureml-current")


def test_the_alias_loads_the_dated_catalog_under_its_own_name(catalog: Catalog) -> None:
    assert CATALOG_ALIASES == {"azureml-current": CURRENT}
    assert catalog.name == catalog.source == CURRENT  # what a plan records: never the alias
    direct = load_catalog(CURRENT)
    assert (direct.name, direct.sha256) == (catalog.name, catalog.sha256)
    assert is_builtin(CURRENT) and is_builtin("azureml-current")
    assert not is_builtin("./azureml-current.yaml")
    assert BUILTIN_CATALOGS.count(CURRENT) == 1
    assert "azureml-current" not in BUILTIN_CATALOGS  # each catalog once, by its own name


def test_catalog_list_of_the_alias_lists_every_collection(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["catalog", "list", "--catalog", "azureml-current", "--format", "json"]) == 0
    rows: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    by_kind: dict[str, set[str]] = {}
    for row in rows:
        by_kind.setdefault(row["kind"], set()).add(row["operation"])
    assert set(by_kind) == KINDS | RUN_HISTORY
    arm = {kind: ops for kind, ops in by_kind.items() if kind not in RUN_HISTORY}
    assert all(ops == {"list", "get", "delete"} for ops in arm.values()), by_kind
    rows = [row for row in rows if row["kind"] not in RUN_HISTORY]
    assert all(row["paging"] == "next_link" for row in rows if row["operation"] == "list")
    versions = set()
    for row in rows:
        url = urlsplit(row["url"])
        assert url.scheme == "https" and url.netloc == "management.azure.com"
        assert "/resourceGroups/{resourceGroupName}/providers/" \
               "Microsoft.MachineLearningServices/workspaces" in url.path
        query = parse_qs(url.query)
        assert len(query["api-version"]) == 1
        versions.add(query["api-version"][0])
        assert re.search(r"(?i)secret|listkeys|token", row["url"]) is None  # never secrets
    assert len(versions) == 1, versions  # one api-version throughout
    (version,) = versions
    assert re.fullmatch(r"20\d\d-\d\d-\d\d", version) and version >= "2024"
    assert version == CURRENT.removeprefix("azureml-")


def test_catalog_list_table_of_the_alias(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "list", "--catalog", "azureml-current"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(f"{CURRENT}: ")


def test_lists_ask_for_archived_and_disabled_items_where_the_api_can(catalog: Catalog) -> None:
    for kind in catalog.kinds.values():
        if kind.from_field:
            continue  # read off its parent: no list of its own
        query = parse_qs(urlsplit(kind.op("list").url).query)
        views = query.get("listViewType", [])
        if kind.name in ARCHIVABLE or kind.name == "schedule":
            assert views == ["All"], kind.name
        else:  # code assets, endpoints, computes... have no such parameter
            assert views == [], kind.name


def test_delete_dialects(catalog: Catalog) -> None:
    for kind in catalog.kinds.values():
        if kind.name in RUN_HISTORY:
            continue  # see test_run_history_erasure_calls
        delete = kind.op("delete")
        assert delete.method == "DELETE" and not delete.if_match
        if kind.name in SYNC:
            assert (dict(delete.statuses), delete.long_running) == (
                {200: "deleted", 204: "absent", 409: "blocked"}, False), kind.name
        elif kind.name in ONLY_202:
            assert (dict(delete.statuses), delete.long_running) == (
                {202: "accepted", 204: "absent"}, True), kind.name
        else:
            assert (dict(delete.statuses), delete.long_running) == (
                {200: "deleted", 202: "accepted", 204: "absent"}, True), kind.name
    compute = parse_qs(urlsplit(catalog.kind("compute").op("delete").url).query)
    assert compute["underlyingResourceAction"] == ["Delete"]
    workspace = catalog.kind("workspace").op("delete")
    assert "forceToPurge" not in workspace.url  # a soft delete, for now
    assert workspace.note is not None and "14 days" in workspace.note


def test_run_history_erasure_calls(catalog: Catalog) -> None:
    """A person's runs are erased in steps the catalog spells out: each run's artifact records
    for good and its metrics, then the run as its job (ARM), then an experiment once empty;
    each labelled with what it leaves, and each run's leftovers named for the plan."""
    hosts = {name: urlsplit(catalog.kind(name).op("list" if catalog.kind(name).can("list")
                                                   else "delete").url).netloc
             for name in RUN_HISTORY}
    assert set(hosts.values()) == {"{location}.api.azureml.ms"}
    experiment, run = catalog.kind("experiment"), catalog.kind("run")
    assert experiment.op("delete").only_empty and experiment.op("delete").statuses[409] == \
        "blocked"
    assert experiment.op("list").method == run.op("list").method == "POST"
    assert experiment.op("list").paging is not None
    assert experiment.op("list").paging.style == "body_token"
    assert run.parent == "experiment"
    assert urlsplit(run.op("delete").url).path.endswith("/jobs/{runId}")  # a run is a job
    assert urlsplit(run.op("delete").url).netloc == "management.azure.com"
    for name in ("metrics", "artifact_container"):
        kind = catalog.kind(name)
        assert kind.as_one and kind.parent == "run", name
    container = catalog.kind("artifact_container").op("delete")
    assert parse_qs(urlsplit(container.url).query) == {"hardDelete": ["true"]}
    labels = {name: catalog.kind(name).op("delete").erasure
              for name in RUN_HISTORY if catalog.kind(name).can("delete")}
    assert labels == {"experiment": "hard", "run": "hard", "metrics": "hard",
                      "artifact_container": "irreversible", "run_tag": "hard",
                      "experiment_tag": "hard"}
    # rectification: tags are read off their run or experiment, and deleted by key
    for name, parent in (("run_tag", "run"), ("experiment_tag", "experiment")):
        kind = catalog.kind(name)
        assert (kind.from_field, kind.parent) == ("tags", parent), name
        assert "{key}" in str(kind.op("delete").body), name
    assert not catalog.kind("artifact").can("delete")  # erased as its container
    assert [r.path for r in run.residue] == [
        "azureml/ExperimentRun/dcid.{runId}/", "snapshot {properties.ContentSnapshotId}"]


def test_dependencies_are_data(catalog: Catalog) -> None:
    scope = catalog.scope_kind.name
    assert scope == "workspace"
    for name in ("model", "data", "environment", "component", "code", "featureset",
                 "featurestore_entity"):
        version = catalog.kind(f"{name}_version")
        assert version.parent == name and version.id_var == "version"
        assert catalog.kind(name).parent == scope
        assert set(version.parent_vars.values()) == {"name"}
    for endpoint in ("online", "batch"):
        deployment = catalog.kind(f"{endpoint}_deployment")
        assert deployment.parent == f"{endpoint}_endpoint"
        used = {(use.kind, use.key) for use in deployment.uses}
        assert used == {("model_version", "id"), ("environment_version", "id"),
                        ("code_version", "id")}
    assert [(u.kind, u.field) for u in catalog.kind("job").made_by] == [
        ("schedule", "properties.experimentName")]
    assert [(u.kind, u.key) for u in catalog.kind("serverless_endpoint").uses] == [
        ("marketplace_subscription", "properties.modelId")]


def test_who_made_an_item(catalog: Catalog) -> None:
    for kind in catalog.kinds.values():
        link = kind.subject
        if kind.name == "experiment_tag":
            # an experiment may hold several people's runs: its tags are nobody's by structure
            assert link is None
            continue
        assert link is not None, kind.name
        if kind.name in RUN_HISTORY:
            continue  # run history names a run's creator by object id: see below
        assert (link.display_name, link.creator_type) == (
            "systemData.createdBy", "systemData.createdByType"), kind.name
        # of the ARM kinds, only compute instances give an object id; jobs reach it
        # through their run
        assert bool(link.creator) == (kind.name == "compute"), kind.name
        assert link.via == ("run" if kind.name == "job" else None), kind.name
    creator = catalog.kind("compute").subject
    assert creator is not None and creator.creator[0].endswith("createdBy.userId")
    run = catalog.kind("run").subject
    assert run is not None and run.creator[0] == "createdBy.userObjectId"
    for name in RUN_HISTORY - {"run", "experiment_tag"}:
        link = catalog.kind(name).subject
        assert link is not None and link.via == "run", name


def test_a_manifest_may_name_the_alias(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(
        "version: 1\nname: alias\ncatalog: azureml-current\n"
        "workspaces:\n  - {subscriptionId: 6a3c9f1e-2b4d-4c8a-9e1f-0123456789ab, "
        "resourceGroup: demo-rg, workspace: demo-ws, location: eastus}\n"
        "export:\n  to: out\n  select:\n    - {kind: model_version, all: true}\n",
        encoding="utf-8")
    assert main(["validate", str(manifest)]) == 0, capsys.readouterr()
