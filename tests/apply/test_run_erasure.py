"""Erasing one person's run history on the current API, end to end through the CLI on the
loopback emulator: her runs are found by run history's object id, each run's artifact records
and metrics go before the run (its job's ARM delete), experiments she leaves empty go after
their runs, nobody else's data is touched (checked item by item against the seed), what the
API cannot remove is owed in the receipt with its exact paths, and verify passes. Killed in
the middle of a run's chain, a re-run finishes it without sending any step twice."""

from __future__ import annotations

import json
from pathlib import Path

from apply_helpers import (
    Emulator,
    Planned,
    cli,
    count_events,
    emulator,
    kill,
    log_path_of,
    plan_manifest,
    start_child,
    wait_for_event,
    ws_key,
)

from amlctl.emulator.jobhistory_seed import ARTIFACTS, METRICS, experiment_id
from amlctl.emulator.mfe_seed import JOBS
from amlctl.emulator.people import NAMESAKE, SUBJECT
from amlctl.emulator.seed import RESOURCE_GROUP, SUBSCRIPTION, WORKSPACE, WORKSPACE_EU

MANIFEST = f"""\
version: 1
name: run-erasure
catalog: azureml-current
request:
  id: DSR-2026-0099
  received: "2026-11-25"
  subject: {{userObjectId: {SUBJECT.object_id}}}
workspaces:
  - {{subscriptionId: {SUBSCRIPTION}, resourceGroup: {RESOURCE_GROUP}, workspace: {WORKSPACE},
     location: eastus}}
  - {{subscriptionId: {SUBSCRIPTION}, resourceGroup: {RESOURCE_GROUP}, workspace: {WORKSPACE_EU},
     location: westeurope}}
export:
  to: exports/run-erasure
  select:
    - {{kind: run, subject: true}}
    - {{kind: metrics, subject: true}}
    - {{kind: artifact, subject: true}}
delete:
  select:
    - {{kind: artifact_container, subject: true}}
    - {{kind: metrics, subject: true}}
    - {{kind: run, subject: true}}
    - {{kind: experiment, subject: true}}
"""

HERS = [job for job in JOBS if job[2] == SUBJECT]
# (workspace, experiment) whose runs are all hers: emptied by the erasure, so deleted
EMPTIED = {(ws, exp) for ws, _, _, _, exp, *_ in HERS
           if all(j[2] == SUBJECT for j in JOBS if (j[0], j[4]) == (ws, exp))}


def plan_erasure(emu: Emulator, work: Path) -> Planned:
    manifest = work / "run-erasure.yaml"
    manifest.write_text(MANIFEST, encoding="utf-8")
    return plan_manifest(emu, manifest)


def test_her_runs_are_erased_in_order_and_nobody_elses_are_touched(
    emu: Emulator, work: Path
) -> None:
    planned = plan_erasure(emu, work)
    kinds = sorted(c["kind"] for c in planned.deletes)
    assert kinds.count("run") == kinds.count("metrics") == kinds.count(
        "artifact_container") == len(HERS)
    assert kinds.count("experiment") == len(EMPTIED)
    # the labels a reviewer reads: records gone for good, the rest hard deletes
    labels = {c["kind"]: c["erasure"] for c in planned.deletes}
    assert labels == {"artifact_container": "irreversible", "metrics": "hard", "run": "hard",
                      "experiment": "hard"}
    # the experiment her namesake's run is in stays, and the plan says why
    assert any("churn-classifier" in w and "kept" in w for w in planned.doc["warnings"])

    applied = cli("apply", str(planned.path), "--endpoint", emu.origin, "--yes")
    assert applied.code == 0, applied.text
    verified = cli("verify", str(planned.path), "--endpoint", emu.origin, "--manual-done", "all")
    assert verified.code == 0, verified.text

    for ws, name, who, *_ in JOBS:
        key, container = ws_key(ws), f"dcid.{name}"
        hers = who == SUBJECT
        assert (emu.store.get(key, "job", name) is None) == hers, name
        assert (emu.store.get(key, "jh_run", name) is None) == hers, name
        metrics = emu.store.children(key, "jh_metric", name)
        artifacts = emu.store.children(key, "jh_artifact", container)
        assert (len(metrics), len(artifacts)) == ((0, 0) if hers else
                                                  (len(METRICS), len(ARTIFACTS))), name
        # the blobs stay, hers too: no API call removes them
        assert len(emu.store.children(key, "jh_blob", container)) == len(ARTIFACTS) + 1
    for ws, _, _, _, exp, *_ in JOBS:
        gone = emu.store.get(ws_key(ws), "jh_experiment", experiment_id(exp)) is None
        assert gone == ((ws, exp) in EMPTIED), (ws, exp)
    assert any(job[2] == NAMESAKE for job in JOBS)  # the seed holds the namesake's job

    order = [log_path_of_entry(e) for e in emu.deletes()]
    for ws, name, *_ in HERS:
        job = order.index(f"{ws}:jobs/{name}")
        assert order.index(f"{ws}:runs/{name}/deleteMetrics") < job
        assert order.index(f"{ws}:artifacts/ExperimentRun/dcid.{name}/batch") < job
    for ws, exp in EMPTIED:
        runs = [order.index(f"{ws}:jobs/{j[1]}") for j in HERS if (j[0], j[4]) == (ws, exp)]
        assert max(runs) < order.index(f"{ws}:experimentids/{experiment_id(exp)}")

    # what the API leaves is owed in the receipt, with the exact paths of her runs
    manual = {m["address"]: m for m in planned.receipt()["manual"]}
    for ws in (WORKSPACE, WORKSPACE_EU):
        blobs = manual[f"manual:{ws}/manual/run-blobs"]["instructions"]
        for name in (j[1] for j in HERS if j[0] == ws):
            assert f"azureml/ExperimentRun/dcid.{name}/" in blobs
        others = [j[1] for j in JOBS if j[0] == ws and j[2] != SUBJECT]
        assert not any(f"dcid.{name}/" in blobs for name in others)
    text = planned.receipt_markdown()
    assert "irreversible" in text and "azureml/ExperimentRun/dcid.churn-train-01/" in text


def log_path_of_entry(entry: dict[str, str]) -> str:
    """`<workspace>:<path below it>` of a logged DELETE."""
    path = entry["path"].split("?", 1)[0]
    below = path.partition("/providers/Microsoft.MachineLearningServices/workspaces/")[2]
    workspace, _, rest = below.partition("/")
    return f"{workspace}:{rest}"


def test_a_kill_in_the_middle_of_a_runs_chain_resumes_without_repeating_a_step(
    tmp_path: Path, work: Path
) -> None:
    with emulator(tmp_path / "emu") as emu:
        planned = plan_erasure(emu, work)
        emu.set_latency(40)
        args = ("apply", str(planned.path), "--endpoint", emu.origin, "--yes",
                "--parallelism", "1")
        child = start_child(*args, output=work / "killed.out")
        try:
            # runs' artifact records and metrics are erased first, their jobs only after
            wait_for_event(planned.journal_path, "delete-done", 2, child)
        finally:
            kill(child)
        emu.settle()
        emu.set_latency(0)
        done_before = count_events(planned.journal_path, "delete-done")
        assert 0 < done_before < len(planned.deletes)
        killed = [r["address"] for r in planned.journal() if r["event"] == "delete-done"]
        assert not any("/run/" in a or "/experiment/" in a for a in killed)  # mid-chain

        result = cli(*args)
        assert result.code == 0, result.text

        # every step of every chain was sent exactly once, over both runs
        urls = [log_path_of(c["url"]) for c in planned.deletes]
        sent = [e["path"] for e in emu.deletes()]
        assert sorted(sent) == sorted(urls)
        journal = planned.journal()
        done = [r["address"] for r in journal if r["event"] == "delete-done"]
        assert sorted(done) == sorted(c["address"] for c in planned.deletes)
        verified = cli("verify", str(planned.path), "--endpoint", emu.origin,
                       "--manual-done", "all")
        assert verified.code == 0, verified.text


def test_tags_naming_her_on_what_stays_are_deleted_and_nothing_else_changes(
    emu: Emulator, work: Path
) -> None:
    manifest = work / "rectify.yaml"
    manifest.write_text(MANIFEST.split("export:")[0] + """\
delete:
  select:
    - kind: run_tag
      where: {value: {equals: Jane Doe}, key: {equals: reviewedBy}}
    - kind: experiment_tag
      where: {value: {equals: Jane Doe}}
""", encoding="utf-8")
    planned = plan_manifest(emu, manifest)
    bodies = {c["kind"]: (c["method"], c["body"]) for c in planned.deletes}
    # the plan shows exactly what goes out: the call and the keys it names
    assert bodies == {"run_tag": ("DELETE", ["reviewedBy"]),
                      "experiment_tag": ("POST", {"tags": ["owner"]})}
    applied = cli("apply", str(planned.path), "--endpoint", emu.origin, "--yes")
    assert applied.code == 0, applied.text
    verified = cli("verify", str(planned.path), "--endpoint", emu.origin, "--manual-done", "all")
    assert verified.code == 0, verified.text
    key = ws_key(WORKSPACE)
    run = emu.store.get(key, "jh_run", "fraud-train-01")
    assert run is not None and run.doc["tags"] == {"mlflow.user": "Sam Patel"}
    experiment = emu.store.get(key, "jh_experiment", experiment_id("churn-classifier"))
    assert experiment is not None and experiment.doc["tags"] == {}
    # nothing else was sent: no run, metric or artifact touched
    assert [log_path_of_entry(e) for e in emu.deletes()] == [
        f"{WORKSPACE}:runs/fraud-train-01/tags"]
    # a new plan finds nothing more to rectify
    again = cli("plan", manifest.name, "--endpoint", emu.origin, "-o", "plans/again.plan.json",
                "--format", "json")
    assert again.code == 0, again.err
    assert not [c for c in json.loads(again.out)["changes"] if c["action"] == "delete"]
