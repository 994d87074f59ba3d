"""The current API's part of the demo seed: who made what in demo-ws and demo-ws-eu.

The data subject (Jane Doe) made jobs, a schedule, model, data, environment and code assets,
an online endpoint whose deployment serves her own model version, a Git connection and a
compute instance in each workspace; colleagues made others, and so did an application (the
`mlops-pipeline` service principal) and the workspaces' managed identities (the jobs that
schedules make). Another Jane Doe (a different person: another Entra object id) owns a compute
instance, the one kind whose creator is an object id; everywhere else ARM names people by
display name only, which cannot tell the two apart. Some versions and jobs are archived, and a
schedule is disabled: default lists hide them.

The tables below are the seed's record of who made what (`owned()` flattens them), so tests can
check an erasure item by item.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from amlctl.emulator import mfe_documents as m
from amlctl.emulator.documents import Doc, User
from amlctl.emulator.mfe_documents import Actor
from amlctl.emulator.people import ALEX, NAMESAKE, PIPELINE, SAM, SUBJECT

WS, EU = "demo-ws", "demo-ws-eu"
MARKETPLACE_MODEL = "azureml://registries/azureml-meta/models/Meta-Llama-3-8B-Instruct"
# Who: a person, the application, or "identity" (the workspace's own managed identity, named
# as the workspace is)
Who = User | Actor | str

# (workspace, compute instance, owner, state)
INSTANCES: tuple[tuple[str, str, User, str], ...] = (
    (WS, "ci-jane-doe", SUBJECT, "Running"),
    (WS, "ci-jdoe", NAMESAKE, "Stopped"),
    (EU, "ci-jane-doe-eu", SUBJECT, "Stopped"),
    (EU, "ci-alex-eu", ALEX, "Running"),
)
# creators of the article seed's AmlCompute clusters, as systemData names them
CLUSTERS: dict[tuple[str, str], Who] = {
    (WS, "cpu-cluster"): SAM, (WS, "gpu-cluster"): ALEX, (EU, "cpu-cluster"): SAM}
# creators of the article seed's datastores
DATASTORES: dict[str, Who] = {"workspaceblobstore": "identity", "workspacefilestore": "identity",
                              "trainingdata": ALEX, "datalake": PIPELINE}
# (workspace, schedule, creator, enabled, cron)
SCHEDULES: tuple[tuple[str, str, Who, bool, str], ...] = (
    (WS, "nightly-retrain", SUBJECT, True, "0 2 * * *"),
    (WS, "weekly-report", ALEX, False, "0 6 * * 1"),
    (EU, "eu-weekly", PIPELINE, True, "0 3 * * 0"),
)
# (workspace, job, creator, status, experiment, compute, archived, made by schedule)
JOBS: tuple[tuple[str, str, Who, str, str, str, bool, str | None], ...] = (
    (WS, "churn-train-01", SUBJECT, "Completed", "churn-classifier", "cpu-cluster", False, None),
    (WS, "churn-train-02", SUBJECT, "Completed", "churn-classifier", "gpu-cluster", True, None),
    # the other Jane Doe's job, in the subject's experiment: only run history's object id
    # tells it from hers (systemData names both "Jane Doe")
    (WS, "churn-train-03", NAMESAKE, "Completed", "churn-classifier", "cpu-cluster", False,
     None),
    (WS, "fraud-train-01", SAM, "Completed", "fraud-scorer", "cpu-cluster", False, None),
    (WS, "sandbox-01", ALEX, "Failed", "sandbox", "cpu-cluster", False, None),
    (WS, "nightly-retrain-20240310", "identity", "Completed", "nightly-retrain", "cpu-cluster",
     False, "nightly-retrain"),
    (WS, "nightly-retrain-20240311", "identity", "Running", "nightly-retrain", "cpu-cluster",
     False, "nightly-retrain"),
    (WS, "batch-score-20240312", PIPELINE, "Completed", "fraud-batch", "cpu-cluster", False,
     None),
    (EU, "churn-eu-train-01", SUBJECT, "Completed", "churn-eu", "cpu-cluster", False, None),
    (EU, "churn-eu-train-02", SUBJECT, "Failed", "churn-eu", "cpu-cluster", True, None),
    (EU, "forecast-01", ALEX, "Running", "forecast", "cpu-cluster", False, None),
    (EU, "eu-weekly-20240310", "identity", "Completed", "eu-weekly", "cpu-cluster", False,
     "eu-weekly"),
)
# (workspace, segment, container, creator, ((version, creator, archived), ...))
ASSETS: tuple[tuple[str, str, str, Who, tuple[tuple[str, Who, bool], ...]], ...] = (
    (WS, "models", "churn-classifier", SUBJECT,
     (("1", SUBJECT, True), ("2", SUBJECT, False), ("3", SAM, False))),
    (WS, "models", "fraud-scorer", SAM, (("1", SAM, False), ("2", PIPELINE, False))),
    (WS, "models", "sandbox-model", ALEX, (("1", ALEX, False),)),
    (WS, "data", "customer-churn-raw", SUBJECT, (("1", SUBJECT, True), ("2", SUBJECT, False))),
    (WS, "data", "fraud-transactions", SAM, (("1", SAM, False),)),
    (WS, "environments", "churn-env", SUBJECT, (("1", SUBJECT, False),)),
    (WS, "environments", "sklearn-1-5", PIPELINE,
     (("1", PIPELINE, False), ("2", PIPELINE, True))),
    (WS, "environments", "sandbox-env", ALEX, (("1", ALEX, False),)),
    (WS, "components", "prep-data", ALEX, (("1", ALEX, False), ("2", ALEX, False))),
    (WS, "components", "train-step", PIPELINE, (("1", PIPELINE, False),)),
    (WS, "codes", m.code_name(WS, "churn-score"), SUBJECT, (("1", SUBJECT, False),)),
    (WS, "codes", m.code_name(WS, "fraud-score"), SAM, (("1", SAM, False),)),
    (WS, "codes", m.code_name(WS, "sandbox"), ALEX, (("1", ALEX, False),)),
    (EU, "models", "churn-eu", SUBJECT, (("1", SUBJECT, False), ("2", SAM, True))),
    (EU, "data", "churn-eu-data", SUBJECT, (("1", SUBJECT, True),)),
    (EU, "environments", "eu-env", PIPELINE, (("1", PIPELINE, False),)),
    (EU, "codes", m.code_name(EU, "churn-eu-score"), SAM, (("1", SAM, False),)),
)
# (workspace, connection, creator, category, auth type, target, shared with (object ids))
CONNECTIONS: tuple[tuple[str, str, Who, str, str, str, tuple[str, ...]], ...] = (
    (WS, "jane-github", SUBJECT, "Git", "PAT", "https://github.com/jane-doe-example/churn",
     (SUBJECT.object_id,)),
    (WS, "team-openai", ALEX, "AzureOpenAI", "ApiKey", "https://team.openai.azure.com/", ()),
    (EU, "eu-git", SAM, "Git", "PAT", "https://github.com/sam-patel-example/eu", ()),
)
# (workspace, endpoint, creator, ((deployment, creator, model, environment, code or None,
# data collection), ...)); assets as (container, version)
Ref = tuple[str, str]
ONLINE: tuple[tuple[str, str, Who, tuple[tuple[str, Who, Ref, Ref, Ref | None, bool], ...]],
              ...] = (
    (WS, "churn-endpoint", SUBJECT,
     (("blue", SUBJECT, ("churn-classifier", "2"), ("churn-env", "1"),
       (m.code_name(WS, "churn-score"), "1"), True),)),
    (WS, "fraud-endpoint", SAM,
     (("blue", SAM, ("fraud-scorer", "1"), ("sklearn-1-5", "1"),
       (m.code_name(WS, "fraud-score"), "1"), False),
      ("green", PIPELINE, ("fraud-scorer", "2"), ("sklearn-1-5", "1"), None, False))),
    (EU, "churn-eu-endpoint", SAM,
     (("blue", SAM, ("churn-eu", "2"), ("eu-env", "1"),
       (m.code_name(EU, "churn-eu-score"), "1"), False),)),
)
# (workspace, endpoint, creator, deployment, creator, model)
BATCH: tuple[tuple[str, str, Who, str, Who, Ref], ...] = (
    (WS, "fraud-batch", SAM, "default", SAM, ("fraud-scorer", "1")),
)
CONTAINER_KINDS = {"models": "model", "data": "data", "environments": "environment",
                   "components": "component", "codes": "code"}


@dataclass(frozen=True)
class Owned:
    """One current-API item of the demo seed and who made it (`user` for a person)."""

    workspace: str
    kind: str  # the current catalog's kind
    name: str
    parent: str  # container or endpoint name; "" at the top
    actor: Actor
    user: User | None


Add = Callable[[str, str, Doc, str], None]  # (store kind, store id, document, parent)


def actor(who: Who, ws_name: str) -> Actor:
    """How systemData names `who` in workspace `ws_name`."""
    if isinstance(who, User):
        return Actor.of(who)
    if isinstance(who, Actor):
        return who
    return Actor(ws_name, "ManagedIdentity")


def owned() -> Iterator[Owned]:
    """Every current-API item the demo seed makes, with its maker (the workspaces' clusters
    and datastores, which the article seed makes, included)."""
    def one(ws: str, kind: str, name: str, who: Who, parent: str = "") -> Owned:
        return Owned(ws, kind, name, parent, actor(who, ws), who if isinstance(who, User) else None)

    for (ws, name), who in CLUSTERS.items():
        yield one(ws, "compute", name, who)
    for ws, name, owner, _ in INSTANCES:
        yield one(ws, "compute", name, owner)
    for ws, name, who, *_ in JOBS:
        yield one(ws, "job", name, who)
    for ws, name, who, *_ in SCHEDULES:
        yield one(ws, "schedule", name, who)
    for ws, segment, container, who, versions in ASSETS:
        kind = CONTAINER_KINDS[segment]
        yield one(ws, kind, container, who)
        for number, by, _ in versions:
            yield one(ws, f"{kind}_version", number, by, container)
    for ws, name, who, *_ in CONNECTIONS:
        yield one(ws, "connection", name, who)
    for ws, endpoint, who, deployments in ONLINE:
        yield one(ws, "online_endpoint", endpoint, who)
        for name, by, *_ in deployments:
            yield one(ws, "online_deployment", name, by, endpoint)
    for ws, endpoint, who, name, by, _ in BATCH:
        yield one(ws, "batch_endpoint", endpoint, who)
        yield one(ws, "batch_deployment", name, by, endpoint)
    for name, who in DATASTORES.items():
        for ws in (WS, EU) if name.startswith("workspace") else (WS,):
            yield one(ws, "datastore", name, who)
    yield from (one(WS, kind, name, ALEX, parent) for kind, name, parent in (
        ("featureset", "customer-features", ""), ("featureset_version", "1", "customer-features"),
        ("featurestore_entity", "customer", ""), ("featurestore_entity_version", "1", "customer")))
    yield one(WS, "serverless_endpoint", "llama-chat", SAM)
    yield one(WS, "marketplace_subscription", "llama-3-8b", SAM)


def seed(ws_doc: Doc, account: str, add: Add) -> None:
    """Add the current-API items of one demo workspace (its clusters and datastores excepted:
    the article seed makes those, and gives them systemData with `with_system_data`)."""
    ws_name = ws_doc["name"]
    clock = iter(range(2000, 4000, 7))  # a fixed minute for each item, in seed order
    for ws, name, owner, state in INSTANCES:
        if ws == ws_name:
            add("compute", name, m.compute_instance(ws_doc, name, owner, next(clock), state), "")
    for ws, name, who, enabled, cron in SCHEDULES:
        if ws == ws_name:
            doc = m.schedule(ws_doc, name, actor(who, ws), next(clock), enabled, cron)
            add("schedule", name, doc, "")
    for ws, name, who, status, experiment, compute, archived, made_by in JOBS:
        if ws == ws_name:
            email = f"{who.name.lower().replace(' ', '.')}@example.com" \
                if isinstance(who, User) else None
            doc = m.job(ws_doc, name, actor(who, ws), next(clock), status, experiment, compute,
                        archived=archived, schedule=made_by, email=email)
            add("job", name, doc, "")
    _assets(ws_doc, account, add, clock)
    for ws, name, who, category, auth, target, shared in CONNECTIONS:
        if ws == ws_name:
            doc = m.connection(ws_doc, name, actor(who, ws), next(clock), category, auth,
                               target, list(shared))
            add("connection", name, doc, "")
    _endpoints(ws_doc, add, clock)
    if ws_name == WS:
        _feature_store_and_models(ws_doc, add, clock)


def _assets(ws_doc: Doc, account: str, add: Add, clock: Iterator[int]) -> None:
    ws_name = ws_doc["name"]
    for ws, segment, container, who, versions in ASSETS:
        if ws != ws_name:
            continue
        kind = CONTAINER_KINDS[segment]
        latest = versions[-1][0]
        add(f"{kind}_container", container,
            m.container(ws_doc, segment, container, actor(who, ws), next(clock), latest), "")
        for number, by, archived in versions:
            fields = _version_fields(ws_doc, account, segment, container, number)
            doc = m.version(ws_doc, segment, container, number, actor(by, ws), next(clock),
                            archived, fields)
            add(f"{kind}_version", f"{container}/{number}", doc, container)


def _version_fields(ws_doc: Doc, account: str, segment: str, container: str,
                    number: str) -> Doc:
    if segment == "models":
        job = next((j[1] for j in JOBS if j[0] == ws_doc["name"] and j[4] == container), None)
        return m.model_fields(ws_doc, job, "Production" if number == "2" else "Development")
    if segment == "data":
        return m.data_fields(ws_doc, f"{container}/v{number}/data.csv")
    if segment == "environments":
        return m.environment_fields("mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:"
                                    f"2024{number.zfill(4)}")
    if segment == "components":
        return m.component_fields(container, number)
    return m.code_fields(account, container)


def version_id(ws_doc: Doc, segment: str, ref: Ref) -> str:
    return f"{ws_doc['id']}/{segment}/{ref[0]}/versions/{ref[1]}"


def _endpoints(ws_doc: Doc, add: Add, clock: Iterator[int]) -> None:
    ws_name = ws_doc["name"]
    for ws, endpoint, who, deployments in ONLINE:
        if ws != ws_name:
            continue
        traffic = {deployments[0][0]: 100}
        add("online_endpoint", endpoint,
            m.online_endpoint(ws_doc, endpoint, actor(who, ws), next(clock), traffic), "")
        for name, by, model, environment, code, collect in deployments:
            doc = m.online_deployment(
                ws_doc, endpoint, name, actor(by, ws), next(clock),
                version_id(ws_doc, "models", model), version_id(ws_doc, "environments",
                                                                environment),
                version_id(ws_doc, "codes", code) if code else None, collect)
            add("online_deployment", f"{endpoint}/{name}", doc, endpoint)
    for ws, endpoint, who, name, by, model in BATCH:
        if ws != ws_name:
            continue
        add("batch_endpoint", endpoint,
            m.batch_endpoint(ws_doc, endpoint, actor(who, ws), next(clock), name), "")
        doc = m.batch_deployment(ws_doc, endpoint, name, actor(by, ws), next(clock),
                                 version_id(ws_doc, "models", model),
                                 version_id(ws_doc, "environments", ("sklearn-1-5", "1")))
        add("batch_deployment", f"{endpoint}/{name}", doc, endpoint)


def _feature_store_and_models(ws_doc: Doc, add: Add, clock: Iterator[int]) -> None:
    alex = Actor.of(ALEX)
    for segment, kind, name, fields in (
            ("featuresets", "featureset", "customer-features", m.featureset_fields("customer")),
            ("featurestoreEntities", "featurestore_entity", "customer", m.entity_fields())):
        add(kind, name, m.container(ws_doc, segment, name, alex, next(clock), "1"), "")
        add(f"{kind}_version", f"{name}/1",
            m.version(ws_doc, segment, name, "1", alex, next(clock), False, fields), name)
    sam = Actor.of(SAM)
    add("serverless_endpoint", "llama-chat",
        m.serverless_endpoint(ws_doc, "llama-chat", sam, next(clock), MARKETPLACE_MODEL), "")
    add("marketplace_subscription", "llama-3-8b",
        m.marketplace_subscription(ws_doc, "llama-3-8b", sam, next(clock), MARKETPLACE_MODEL),
        "")


def with_system_data(doc: Doc, ws_name: str, who: Who, minutes: int) -> Doc:
    """An article seed's document (a workspace, cluster or datastore) with the systemData the
    current API shows; article-era api-versions leave it out."""
    system = m.system_data(actor(who, ws_name), minutes)
    if "properties" not in doc:
        return {**doc, "systemData": system}
    out = {key: value for key, value in doc.items() if key != "properties"}
    return {**out, "systemData": system, "properties": doc["properties"]}
