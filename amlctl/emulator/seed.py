"""Seeds: `demo` (two workspaces, a data subject, two colleagues, a namesake of the subject),
`scale:N`, `none`. The demo holds the article-era services' data (here) and the current API's
(mfe_seed.py) in the same workspaces, made by the same people (people.py).

Seeds apply only to an empty database and are fully deterministic (fixed times, derived ids),
so golden tests built on them stay stable. The demo's names and ids are exported below.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from amlctl.emulator import documents as d
from amlctl.emulator import jobhistory_seed, mfe_seed, pipelines
from amlctl.emulator.documents import Doc, User
from amlctl.emulator.people import ALEX, NAMESAKE, SAM, SUBJECT
from amlctl.emulator.store import ItemRow, Store, dumps, make_etag, workspace_key
from amlctl.errors import UsageError

SUBSCRIPTION = "6a3c9f1e-2b4d-4c8a-9e1f-0123456789ab"
RESOURCE_GROUP = "demo-rg"
WORKSPACE = "demo-ws"
WORKSPACE_LOCATION = "eastus"
WORKSPACE_EU = "demo-ws-eu"
WORKSPACE_EU_LOCATION = "westeurope"
TENANT_ID = d.TENANT_ID
DEMO_WS_KEY = workspace_key(SUBSCRIPTION, RESOURCE_GROUP, WORKSPACE)
DEMO_EU_WS_KEY = workspace_key(SUBSCRIPTION, RESOURCE_GROUP, WORKSPACE_EU)

SUBJECT_OBJECT_ID = SUBJECT.object_id
NAMESAKE_OBJECT_ID = NAMESAKE.object_id  # another Jane Doe (current API's compute instances)

# (workspace, experiment, runId, user, status, compute target)
DEMO_RUNS: tuple[tuple[str, str, str, User, str, str], ...] = (
    (WORKSPACE, "churn-model", "churn-model_1709287200_8f3a2c11", SUBJECT, "Completed",
     "cpu-cluster"),
    (WORKSPACE, "churn-model", "churn-model_1709373600_1c9e4b7d", SUBJECT, "Completed",
     "gpu-cluster"),
    (WORKSPACE, "churn-model", "churn-model_1709460000_5d2f8a90", ALEX, "Failed", "cpu-cluster"),
    (WORKSPACE, "fraud-detect", "fraud-detect_1709546400_7b41e0c3", SAM, "Completed",
     "cpu-cluster"),
    (WORKSPACE, "fraud-detect", "fraud-detect_1709632800_e2a96d58", SUBJECT, "Completed",
     "gpu-cluster"),
    (WORKSPACE, "sandbox", "sandbox_1709719200_3f6c1a2e", ALEX, "Completed", "local"),
    (WORKSPACE, "sandbox", "sandbox_1709805600_9a0d7e64", SAM, "Canceled", "local"),
    (WORKSPACE_EU, "churn-eu", "churn-eu_1709892000_4e8b2f17", SUBJECT, "Completed",
     "cpu-cluster"),
    (WORKSPACE_EU, "churn-eu", "churn-eu_1709978400_b5c3d9a1", SAM, "Completed", "cpu-cluster"),
    (WORKSPACE_EU, "forecast", "forecast_1710064800_0d7a5e3c", ALEX, "Running", "cpu-cluster"),
)
SUBJECT_RUN_IDS = tuple(run[2] for run in DEMO_RUNS if run[3] == SUBJECT)

# (workspace, name, version, runId) -- the run decides whose model it is
DEMO_MODELS: tuple[tuple[str, str, int, str], ...] = (
    (WORKSPACE, "churn-model", 1, "churn-model_1709287200_8f3a2c11"),
    (WORKSPACE, "churn-model", 2, "churn-model_1709373600_1c9e4b7d"),
    (WORKSPACE, "fraud-detect", 1, "fraud-detect_1709546400_7b41e0c3"),
    (WORKSPACE, "fraud-detect", 2, "fraud-detect_1709632800_e2a96d58"),
    (WORKSPACE, "sandbox-model", 1, "sandbox_1709719200_3f6c1a2e"),
    (WORKSPACE_EU, "churn-eu", 1, "churn-eu_1709892000_4e8b2f17"),
    (WORKSPACE_EU, "churn-eu", 2, "churn-eu_1709978400_b5c3d9a1"),
)
DEMO_MODEL_IDS = tuple(f"{m[1]}:{m[2]}" for m in DEMO_MODELS if m[0] == WORKSPACE)
SUBJECT_MODEL_IDS = ("churn-model:1", "churn-model:2", "fraud-detect:2")  # in demo-ws
SUBJECT_EU_MODEL_IDS = ("churn-eu:1",)
# (workspace, image name, version, model ids); churn-img:1 holds a subject model (412 on delete)
DEMO_IMAGES: tuple[tuple[str, str, int, tuple[str, ...]], ...] = (
    (WORKSPACE, "churn-img", 1, ("churn-model:1",)),
    (WORKSPACE, "fraud-img", 1, ("fraud-detect:1",)),
    (WORKSPACE_EU, "churn-eu-img", 1, ("churn-eu:1",)),
)
IMAGE_USING_SUBJECT_MODEL = "churn-img:1"
# (workspace, service, image id, compute type); AKS services answer 202 on delete by default
DEMO_SERVICES: tuple[tuple[str, str, str, str], ...] = (
    (WORKSPACE, "churn-svc", "churn-img:1", "ACI"),
    (WORKSPACE, "fraud-svc", "fraud-img:1", "AKS"),
    (WORKSPACE_EU, "churn-svc-eu", "churn-eu-img:1", "ACI"),
)
# (workspace, taskId, name, user, runId)
DEMO_TASKS: tuple[tuple[str, str, str, User, str | None], ...] = (
    (WORKSPACE, "5f0e8c3a-0000-4000-8000-00000000a001", "notify churn training", SUBJECT,
     "churn-model_1709287200_8f3a2c11"),
    (WORKSPACE, "5f0e8c3a-0000-4000-8000-00000000a002", "notify fraud training", SUBJECT,
     "fraud-detect_1709632800_e2a96d58"),
    (WORKSPACE, "5f0e8c3a-0000-4000-8000-00000000a003", "sandbox alerts", ALEX, None),
    (WORKSPACE_EU, "5f0e8c3a-0000-4000-8000-00000000a004", "notify churn-eu", SUBJECT,
     "churn-eu_1709892000_4e8b2f17"),
)
DEMO_COMPUTES = {WORKSPACE: ("cpu-cluster", "gpu-cluster"), WORKSPACE_EU: ("cpu-cluster",)}
DEMO_DATASTORES = ("workspaceblobstore", "workspacefilestore", "trainingdata", "datalake")
# URL segment -> entity id, one entity of each pipeline kind per workspace
DEMO_PIPELINE_IDS = {
    "Experiments": "3b9f2a10-5c1e-4d7a-8e2b-000000000e01",
    "Graphs": "3b9f2a10-5c1e-4d7a-8e2b-000000000a01",
    "Modules": "3b9f2a10-5c1e-4d7a-8e2b-000000000b01",
    "Templates": "3b9f2a10-5c1e-4d7a-8e2b-000000000c01",
    "DataSources": "3b9f2a10-5c1e-4d7a-8e2b-000000000d01",
}
DEMO_EU_PIPELINE_IDS = {kind: value[:-2] + "02" for kind, value in DEMO_PIPELINE_IDS.items()}
PIPELINE_KINDS = pipelines.KINDS  # URL segment -> store kind
SCALE_RESOURCE_GROUP = "scale-rg"
SCALE_WORKSPACE = "scale-ws"


@dataclass
class _Rows:
    """Items collected for one workspace, inserted in one transaction."""

    ws: str
    rows: list[ItemRow] = field(default_factory=list)

    def add(self, kind: str, item_id: str, doc: Doc, parent: str = "",
            content: bytes | None = None) -> None:
        raw = dumps(doc)
        created = str(doc.get("createdTime") or doc.get("createdUtc") or "")
        etag = str(doc.get("etag") or make_etag(raw))
        self.rows.append((self.ws, kind, item_id, parent, raw, content, etag, created))


def parse_seed(spec: str) -> tuple[str, int]:
    """("demo", 0), ("none", 0) or ("scale", N); UsageError for anything else."""
    if spec in ("demo", "none"):
        return spec, 0
    name, _, count = spec.partition(":")
    if name == "scale" and count.isdigit() and 1 <= int(count) <= 1_000_000:
        return "scale", int(count)
    raise UsageError(f"bad seed {spec!r}: expected demo, none or scale:N (N from 1 to 1000000)")


def apply_seed(store: Store, spec: str) -> None:
    """Fill an empty store with a seed (does nothing to a store that holds data)."""
    name, count = parse_seed(spec)
    if not store.is_empty():
        return
    if name == "demo":
        _demo(store)
    elif name == "scale":
        _scale(store, count)
    store.set_meta("seed", spec)


def _add_workspace(store: Store, rg: str, name: str, location: str, minutes: int,
                   creator: User | None = None) -> tuple[_Rows, Doc]:
    doc = d.workspace(SUBSCRIPTION, rg, name, location, minutes)
    if creator is not None:
        doc = mfe_seed.with_system_data(doc, name, creator, minutes)
    store.put_workspace(doc, d.storage_account(name))
    return _Rows(workspace_key(SUBSCRIPTION, rg, name)), doc


def _demo(store: Store) -> None:
    for index, (name, location, creator) in enumerate(
            ((WORKSPACE, WORKSPACE_LOCATION, ALEX), (WORKSPACE_EU, WORKSPACE_EU_LOCATION, SAM))):
        rows, ws_doc = _add_workspace(store, RESOURCE_GROUP, name, location, index * 60,
                                      creator)
        for n, compute in enumerate(DEMO_COMPUTES[name]):
            size = "STANDARD_NC6" if compute.startswith("gpu") else "STANDARD_DS3_V2"
            doc = d.compute(ws_doc, compute, size, 10 + n)
            who = mfe_seed.CLUSTERS[(name, compute)]
            rows.add("compute", compute, mfe_seed.with_system_data(doc, name, who, 10 + n))
        _demo_runs(rows, name)
        _demo_models(rows, name, location)
        _demo_misc(rows, name, d.storage_account(name))
        ids = DEMO_PIPELINE_IDS if name == WORKSPACE else DEMO_EU_PIPELINE_IDS
        for n, (segment, entity_id) in enumerate(ids.items()):
            user = (SUBJECT, ALEX, SAM)[n % 3]
            doc = d.pipeline_entity(segment, entity_id, f"{name}-{segment.lower()}", user, 400 + n)
            rows.add(PIPELINE_KINDS[segment], entity_id, doc)
        mfe_seed.seed(ws_doc, d.storage_account(name), rows.add)
        _job_history(rows, name)
        store.put_many(rows.rows)


def _job_history(rows: _Rows, ws: str) -> None:
    """The run history of the current API's jobs: an experiment per experimentName, a run per
    job, with the jobs' own times."""
    jobs = [job for job in mfe_seed.JOBS if job[0] == ws]
    for n, experiment in enumerate(dict.fromkeys(job[4] for job in jobs)):
        rows.add("jh_experiment", jobhistory_seed.experiment_id(experiment),
                 jobhistory_seed.experiment(experiment, 1900 + n))
    for n, (_, name, who, status, experiment, compute, _, _) in enumerate(jobs):
        jobhistory_seed.seed_job_run(rows.add, ws, name, who, experiment, compute, status,
                                     2000 + 7 * n)


def _demo_runs(rows: _Rows, ws: str) -> None:
    # a run's place in DEMO_RUNS fixes its time: one a day from the seed epoch
    runs = [(100 + 1440 * index, run) for index, run in enumerate(DEMO_RUNS) if run[0] == ws]
    for exp in dict.fromkeys(run[1] for _, run in runs):
        mine = [(at, run) for at, run in runs if run[1] == exp]
        rows.add("experiment", exp, d.experiment(exp, 20, mine[-1][1][2], mine[-1][0]))
        for number, (at, (_, _, run_id, user, status, target)) in enumerate(mine, start=1):
            rows.add("run", run_id, d.run(exp, run_id, number, user, at, status, target), exp)
            for name, value in (("accuracy", 0.8 + number / 100), ("loss", 0.4 - number / 100)):
                metric = d.metric(run_id, name, round(value, 4), at + 8)
                rows.add("metric", metric["metricId"], metric, exp)
            for path, content in _demo_artifacts(run_id, user, status):
                doc = d.artifact(run_id, path, content, at + 9)
                rows.add("artifact", f"dcid.{run_id}/{path}", doc, f"dcid.{run_id}", content)


def _demo_artifacts(run_id: str, user: User, status: str) -> list[tuple[str, bytes]]:
    log = (f"[{run_id}] started by {user.name}\n[{run_id}] epoch 1 loss=0.41\n"
           f"[{run_id}] {status.lower()}\n").encode()
    files = [("logs/train.log", log)]
    if status == "Completed":
        files.append(("outputs/model.pkl", b"\x80\x04\x95demo-model:" + run_id.encode() + b"."))
        files.append(("outputs/metrics.json", b'{"accuracy": 0.91}\n'))
    return files


def _demo_models(rows: _Rows, ws: str, location: str) -> None:
    for n, (_, name, version, run_id) in enumerate(m for m in DEMO_MODELS if m[0] == ws):
        exp = run_id.split("_")[0]
        frameworks = ("ScikitLearn", "Onnx", "TensorFlow")
        model = d.model(name, version, run_id, exp, 200 + n * 60, frameworks[n % 3],
                        f"{name} version {version}")
        rows.add("model", model["id"], model)
        asset = d.asset(name, version, run_id, 199 + n * 60)
        rows.add("asset", asset["id"], asset)
    for n, (_, name, version, model_ids) in enumerate(i for i in DEMO_IMAGES if i[0] == ws):
        rows.add("image", f"{name}:{version}", d.image(name, version, list(model_ids), 300 + n,
                                                       d.storage_account(ws)))
    for n, (_, name, image_id, compute) in enumerate(s for s in DEMO_SERVICES if s[0] == ws):
        rows.add("service", name, d.service(name, image_id, compute, 320 + n, location))


def _demo_misc(rows: _Rows, ws: str, account: str) -> None:
    for n, (_, task_id, name, user, run_id) in enumerate(t for t in DEMO_TASKS if t[0] == ws):
        rows.add("task", task_id, d.task(task_id, name, user, 340 + n, run_id))
    stores = (("workspaceblobstore", "AzureBlob", "AccountKey"),
              ("workspacefilestore", "AzureFile", "AccountKey"),
              ("trainingdata", "AzureBlob", "Sas"),
              ("datalake", "AzureDataLakeGen2", "ClientCredentials"))
    for n, (name, kind, credential) in enumerate(stores if ws == WORKSPACE else stores[:2]):
        secret = f"FAKE-{credential}-secret-for-{ws}-{name}=="
        doc = d.datastore(name, kind, credential, secret, SUBSCRIPTION, RESOURCE_GROUP, account)
        who = mfe_seed.DATASTORES[name]
        rows.add("datastore", name, mfe_seed.with_system_data(doc, ws, who, 5 + n))


def _scale(store: Store, runs: int) -> None:
    """N runs and proportional everything else in `scale-ws` (eastus)."""
    rows, ws_doc = _add_workspace(store, SCALE_RESOURCE_GROUP, SCALE_WORKSPACE, "eastus", 0)
    users = [SUBJECT, ALEX, SAM] + [User(f"8b0c2f4e-0000-4000-8000-{n:012d}", f"User {n}")
                                    for n in range(100, 107)]
    experiments = [f"exp-{n:04d}" for n in range(max(1, runs // 100))]
    for n, exp in enumerate(experiments):
        rows.add("experiment", exp, d.experiment(exp, n, None, 0))
    run_ids = []
    for n in range(runs):
        exp, user = experiments[n % len(experiments)], users[n % len(users)]
        run_id = f"{exp}_{1709287200 + n * 60}_{n:08x}"
        run_ids.append(run_id)
        rows.add("run", run_id, d.run(exp, run_id, n + 1, user, n, "Completed", "cpu-cluster"),
                 exp)
        for name in ("accuracy", "loss"):
            metric = d.metric(run_id, name, 0.5, n)
            rows.add("metric", metric["metricId"], metric, exp)
        content = f"model of {run_id}\n".encode()
        rows.add("artifact", f"dcid.{run_id}/outputs/model.pkl",
                 d.artifact(run_id, "outputs/model.pkl", content, n), f"dcid.{run_id}", content)
    for name in ("cpu-cluster", "gpu-cluster"):
        rows.add("compute", name, d.compute(ws_doc, name, "STANDARD_DS3_V2", 0))
    _scale_rest(rows, runs, run_ids, users)
    store.put_many(rows.rows)


def _scale_rest(rows: _Rows, runs: int, run_ids: list[str], users: list[User]) -> None:
    models = max(1, runs // 20)
    for n in range(models):
        run_id = run_ids[n % len(run_ids)]
        model = d.model(f"model-{n:05d}", 1, run_id, run_id.split("_")[0], n, "ScikitLearn", "")
        rows.add("model", model["id"], model)
        asset = d.asset(f"model-{n:05d}", 1, run_id, n)
        rows.add("asset", asset["id"], asset)
    account = d.storage_account(SCALE_WORKSPACE)
    for n in range(max(1, runs // 100)):
        rows.add("image", f"image-{n:04d}:1", d.image(f"image-{n:04d}", 1,
                                                      [f"model-{n % models:05d}:1"], n, account))
        rows.add("service", f"service-{n:04d}",
                 d.service(f"service-{n:04d}", f"image-{n:04d}:1", "ACI", n, "eastus"))
    for n in range(max(1, runs // 50)):
        task_id = d.guid("task", n)
        rows.add("task", task_id, d.task(task_id, f"task {n}", users[n % len(users)], n, None))
    rows.add("datastore", "workspaceblobstore", d.datastore(
        "workspaceblobstore", "AzureBlob", "AccountKey", "FAKE-AccountKey-secret==",
        SUBSCRIPTION, SCALE_RESOURCE_GROUP, account))
    for segment, kind in PIPELINE_KINDS.items():
        entity_id = d.guid("scale-pipeline", segment)
        rows.add(kind, entity_id, d.pipeline_entity(segment, entity_id, segment.lower(),
                                                    users[0], 0))
