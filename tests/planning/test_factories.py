"""The literal builders agree with what they stand for: load_manifest, and the walker's items."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from amlctl.catalog import load_catalog
from amlctl.manifest.load import load_manifest

from .inventory_factories import EU, JANE_OID, artifact, experiment, run
from .manifest_factories import manifest, request, select, where

MANIFEST = """\
version: 1
name: unit
catalog: azureml-2019-11-01
request:
  id: DSR-2026-0042
  received: "2026-11-20"
  due: "2026-12-20"
  subject: {userObjectId: 8b0c2f4e-0000-4000-8000-000000000042, userName: Jane Doe}
workspaces:
  - {subscriptionId: 6a3c9f1e-2b4d-4c8a-9e1f-0123456789ab, resourceGroup: demo-rg,
     workspace: demo-ws, location: eastus}
export:
  to: exports/unit
  select:
    - {kind: run, subject: true}
    - {kind: model, where: {tags.stage: {in: [prod, dev]}}}
delete:
  select:
    - {kind: model, ids: ["churn-model:1"], name: "churn-*"}
    - {kind: workspace, confirm: demo-ws}
limits: {maxDeletes: 5}
"""


def test_the_manifest_builder_gives_what_load_manifest_gives(tmp_path: Path) -> None:
    path = tmp_path / "unit.yaml"
    path.write_text(MANIFEST)
    loaded, _ = load_manifest(path)
    built = manifest(
        request=request(),
        export=[select("run", subject=True),
                select("model", where=where("tags.stage", "in", ["prod", "dev"]))],
        delete=[select("model", ids=("churn-model:1",), name="churn-*"),
                select("workspace", confirm="demo-ws")],
        max_deletes=5,
    )
    assert replace(built, path=loaded.path, sha256=loaded.sha256) == loaded


def test_child_items_carry_the_variables_their_calls_need() -> None:
    catalog = load_catalog("azureml-2019-11-01")
    r = run("run-1", experiment("churn", EU), oid=JANE_OID)
    file = artifact("outputs/x.txt", r)
    assert file.values == {**EU.scope_values(), "experimentName": "churn", "runId": "run-1",
                           "containerId": "dcid.run-1"}
    assert file.parent == "run-1" and r.parent == "churn"
    assert r.values["runId"] == "run-1" and catalog.kind("run").id_var == "runId"
