"""Documents of the current ARM API (`Microsoft.MachineLearningServices` "v2" resources), with
the field names of the 2026 REST specification, built from a few values.

Every resource is an ARM envelope: `id`, `name`, `type`, `systemData` (who created and last
changed it: a display name for a person, with `createdByType` User, Application,
ManagedIdentity or Key) and `properties`. Everything is derived from the arguments (no clock,
no randomness), so seeding twice gives byte-identical stores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from amlctl.emulator.documents import PROVIDER, TENANT_ID, User, guid, stamp

Doc = dict[str, Any]


@dataclass(frozen=True)
class Actor:
    """Who made a resource, as ARM's systemData names them: a person by display name, an
    application or managed identity by its own display name."""

    name: str
    type: str  # User | Application | ManagedIdentity | Key

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(user.name, "User")


def system_data(created: Actor, minutes: int, modified: Actor | None = None,
                modified_minutes: int | None = None, *, full: bool = True) -> Doc:
    """ARM systemData; jobs carry only the created* half (`full=False`), as real ones do."""
    doc: Doc = {"createdAt": stamp(minutes, "arm"), "createdBy": created.name,
                "createdByType": created.type}
    if full:
        changer = modified or created
        doc.update(lastModifiedAt=stamp(minutes if modified_minutes is None
                                        else modified_minutes, "arm"),
                   lastModifiedBy=changer.name, lastModifiedByType=changer.type)
    return doc


def resource(parent_id: str, path: str, name: str, rtype: str, system: Doc,
             props: Doc, **extra: Any) -> Doc:
    """An ARM envelope `{parent_id}/{path}/{name}` of type `workspaces/{rtype}`."""
    return {"id": f"{parent_id}/{path}/{name}", "name": name,
            "type": f"{PROVIDER}/workspaces/{rtype}", **extra, "systemData": system,
            "properties": props}


def _base(description: str | None = None, tags: Doc | None = None) -> Doc:
    return {"description": description, "tags": tags or {}, "properties": {}}


# -- computes ---------------------------------------------------------------------------------

def compute_instance(ws: Doc, name: str, owner: User, minutes: int, state: str) -> Doc:
    """A personal compute instance: its creator and assignee are Entra object ids."""
    props = {
        "computeType": "ComputeInstance", "computeLocation": ws["location"],
        "description": f"{owner.name}'s compute instance", "provisioningState": "Succeeded",
        "createdOn": stamp(minutes, "arm"), "modifiedOn": stamp(minutes + 5, "arm"),
        "resourceId": None, "provisioningErrors": None, "isAttachedCompute": False,
        "disableLocalAuth": True,
        "properties": {
            "vmSize": "STANDARD_DS3_V2", "applicationSharingPolicy": "Personal",
            "computeInstanceAuthorizationType": "personal", "state": state,
            "sshSettings": {"sshPublicAccess": "Disabled", "adminUserName": "azureuser",
                            "sshPort": 50000},
            "personalComputeInstanceSettings": {"assignedUser": {
                "objectId": owner.object_id, "tenantId": TENANT_ID}},
            "createdBy": {"userName": owner.name, "userOrgId": TENANT_ID,
                          "userId": owner.object_id},
        },
    }
    return {"id": f"{ws['id']}/computes/{name}", "name": name,
            "type": f"{PROVIDER}/workspaces/computes", "location": ws["location"],
            "systemData": system_data(Actor.of(owner), minutes), "properties": props}


# -- jobs and schedules -----------------------------------------------------------------------

def job(ws: Doc, name: str, by: Actor, minutes: int, status: str, experiment: str,
        compute: str, *, archived: bool = False, schedule: str | None = None,
        email: str | None = None) -> Doc:
    """A command job; one a schedule made is named for it by experiment name and tag."""
    region = ws["location"]
    tags = {"azureml.scheduleTrigger.scheduleName": schedule} if schedule else {}
    props = {
        **_base(f"{experiment} training", tags), "jobType": "Command",
        "displayName": name, "experimentName": experiment, "status": status,
        "computeId": f"{ws['id']}/computes/{compute}", "componentId": None,
        "identity": {"identityType": "AMLToken"}, "isArchived": archived,
        "command": "python train.py", "environmentId": "azureml:AzureML-sklearn-1.5@latest",
        "services": {
            "Tracking": {"jobServiceType": "Tracking",
                         "endpoint": f"azureml://{region}.api.azureml.ms/mlflow/v1.0{ws['id']}?"},
            "Studio": {"jobServiceType": "Studio",
                       "endpoint": f"https://ml.azure.com/runs/{name}?wsid={ws['id']}"}},
        "notificationSetting": {"emailOn": ["JobFailed"] if email else [],
                                "emails": [email] if email else []},
        "outputs": {"default": {"jobOutputType": "uri_folder", "mode": "ReadWriteMount",
                                "uri": "azureml://datastores/workspaceartifactstore/"
                                       f"ExperimentRun/dcid.{name}"}},
    }
    props["properties"] = {"mlflow.source.git.repoURL": f"https://github.com/example/{experiment}"}
    return resource(ws["id"], "jobs", name, "jobs", system_data(by, minutes, full=False), props)


def schedule(ws: Doc, name: str, by: Actor, minutes: int, enabled: bool, cron: str) -> Doc:
    props = {
        **_base(f"{name} schedule"), "displayName": name, "isEnabled": enabled,
        "provisioningState": "Succeeded",
        "trigger": {"triggerType": "Cron", "expression": cron, "timeZone": "UTC",
                    "startTime": stamp(minutes, "arm")[:19]},
        "action": {"actionType": "CreateJob", "jobDefinition": {
            "jobType": "Pipeline", "displayName": name, "computeId": f"{ws['id']}/computes/"
                                                                     "cpu-cluster"}},
    }
    return resource(ws["id"], "schedules", name, "schedules", system_data(by, minutes), props)


# -- assets -----------------------------------------------------------------------------------

def container(ws: Doc, segment: str, name: str, by: Actor, minutes: int, latest: str,
              archived: bool = False) -> Doc:
    props = {**_base(f"{name}"), "isArchived": archived, "latestVersion": latest,
             "nextVersion": str(int(latest) + 1) if latest.isdigit() else None,
             "provisioningState": "Succeeded"}
    return resource(ws["id"], segment, name, segment, system_data(by, minutes), props)


def version(ws: Doc, segment: str, container_name: str, number: str, by: Actor, minutes: int,
            archived: bool, fields: Doc) -> Doc:
    """A version of an asset container: the shared AssetBase fields, then the kind's own."""
    props = {**_base(f"{container_name} version {number}"), "isAnonymous": False,
             "isArchived": archived, "provisioningState": "Succeeded", **fields}
    return resource(f"{ws['id']}/{segment}/{container_name}", "versions", number,
                    f"{segment}/versions", system_data(by, minutes), props)


def datastore_uri(ws: Doc, datastore: str, path: str) -> str:
    return f"azureml://subscriptions/{ws['id'].split('/')[2]}/resourcegroups/" \
           f"{ws['id'].split('/')[4]}/workspaces/{ws['name']}/datastores/{datastore}/paths/{path}"


def model_fields(ws: Doc, job_name: str | None, stage: str) -> Doc:
    uri = datastore_uri(ws, "workspaceartifactstore",
                        f"ExperimentRun/dcid.{job_name}/outputs/model" if job_name
                        else "LocalUpload/model")
    return {"modelType": "mlflow_model", "modelUri": uri, "jobName": job_name, "stage": stage,
            "flavors": {"python_function": {"data": {"loader_module": "mlflow.sklearn"}}}}


def data_fields(ws: Doc, path: str) -> Doc:
    return {"dataType": "uri_file", "dataUri": datastore_uri(ws, "trainingdata", path)}


def environment_fields(image: str) -> Doc:
    return {"image": image, "osType": "Linux", "autoRebuild": "Disabled",
            "condaFile": "channels: [conda-forge]\ndependencies: [python=3.11, scikit-learn]\n"}


def component_fields(name: str, number: str) -> Doc:
    return {"componentSpec": {"name": name, "version": number, "type": "command",
                              "command": "python prep.py --input ${{inputs.raw}}"}}


def code_fields(account: str, name: str) -> Doc:
    return {"codeUri": f"https://{account}.blob.core.windows.net/azureml-blobstore-"
                       f"{guid('blobstore', account)}/LocalUpload/{name[:8]}/src"}


def code_name(*parts: object) -> str:
    """Code assets are named by a GUID (anonymous snapshots of source code)."""
    return guid("code", *parts)


# -- connections ------------------------------------------------------------------------------

def connection(ws: Doc, name: str, by: Actor, minutes: int, category: str, auth: str,
               target: str, shared_with: list[str]) -> Doc:
    """A connection as ARM answers it: its credentials' secrets only come from listsecrets."""
    props = {"category": category, "authType": auth, "target": target,
             "isSharedToAll": not shared_with, "sharedUserList": shared_with,
             "metadata": {}, "expiryTime": None, "createdByWorkspaceArmId": ws["id"]}
    return resource(ws["id"], "connections", name, "connections", system_data(by, minutes), props)


# -- endpoints and deployments ----------------------------------------------------------------

def online_endpoint(ws: Doc, name: str, by: Actor, minutes: int, traffic: Doc) -> Doc:
    region = ws["location"]
    created = stamp(minutes, "arm")
    props = {"description": f"{name}", "authMode": "Key", "provisioningState": "Succeeded",
             "scoringUri": f"https://{name}.{region}.inference.ml.azure.com/score",
             "swaggerUri": f"https://{name}.{region}.inference.ml.azure.com/swagger.json",
             "traffic": traffic, "publicNetworkAccess": "Enabled",
             "properties": {"createdBy": by.name, "createdAt": created,
                            "lastModifiedAt": created}}
    return resource(ws["id"], "onlineEndpoints", name, "onlineEndpoints",
                    system_data(by, minutes), props, location=region, kind="Managed",
                    identity={"type": "SystemAssigned",
                              "principalId": guid("endpoint", ws["id"], name),
                              "tenantId": TENANT_ID})


def online_deployment(ws: Doc, endpoint: str, name: str, by: Actor, minutes: int, model: str,
                      environment: str, code: str | None, collect: bool) -> Doc:
    """A managed online deployment; `collect` turns on the data collector, which writes the
    inference inputs and outputs (personal data, perhaps) to data assets."""
    props: Doc = {
        **_base(f"{endpoint}/{name}"), "endpointComputeType": "Managed",
        "model": model, "environmentId": environment, "instanceType": "Standard_DS3_v2",
        "scaleSettings": {"scaleType": "Default"}, "provisioningState": "Succeeded",
        "appInsightsEnabled": False, "egressPublicNetworkAccess": "Enabled",
        "codeConfiguration": {"codeId": code, "scoringScript": "score.py"} if code else None,
    }
    if collect:
        props["dataCollector"] = {"collections": {
            "model_inputs": {"dataCollectionMode": "Enabled"},
            "model_outputs": {"dataCollectionMode": "Enabled"}},
            "requestLogging": {"captureHeaders": []}}
    return resource(f"{ws['id']}/onlineEndpoints/{endpoint}", "deployments", name,
                    "onlineEndpoints/deployments", system_data(by, minutes), props,
                    location=ws["location"], sku={"name": "Default", "capacity": 1})


def batch_endpoint(ws: Doc, name: str, by: Actor, minutes: int, default: str) -> Doc:
    props = {"description": name, "authMode": "AADToken", "provisioningState": "Succeeded",
             "scoringUri": f"https://{name}.{ws['location']}.inference.ml.azure.com/jobs",
             "defaults": {"deploymentName": default}, "properties": {}}
    return resource(ws["id"], "batchEndpoints", name, "batchEndpoints",
                    system_data(by, minutes), props, location=ws["location"])


def batch_deployment(ws: Doc, endpoint: str, name: str, by: Actor, minutes: int, model: str,
                     environment: str) -> Doc:
    """A batch deployment names its model as an asset reference ({referenceType, assetId})."""
    props = {**_base(f"{endpoint}/{name}"), "model": {"referenceType": "Id", "assetId": model},
             "environmentId": environment, "compute": f"{ws['id']}/computes/cpu-cluster",
             "maxConcurrencyPerInstance": 2, "outputAction": "AppendRow",
             "provisioningState": "Succeeded", "codeConfiguration": None}
    return resource(f"{ws['id']}/batchEndpoints/{endpoint}", "deployments", name,
                    "batchEndpoints/deployments", system_data(by, minutes), props,
                    location=ws["location"])


# -- feature store, serverless, marketplace ---------------------------------------------------

def featureset_fields(entity: str) -> Doc:
    return {"entities": [f"azureml:{entity}:1"], "stage": "Development",
            "specification": {"path": "azureml://datastores/workspaceblobstore/paths/spec"},
            "materializationSettings": {"storeType": "Offline", "notification": {
                "emailOn": ["JobFailed"], "emails": ["alex.kim@example.com"]}}}


def entity_fields() -> Doc:
    return {"indexColumns": [{"columnName": "customer_id", "dataType": "String"}],
            "stage": "Development"}


def serverless_endpoint(ws: Doc, name: str, by: Actor, minutes: int, model_id: str) -> Doc:
    props = {"modelSettings": {"modelId": model_id}, "authMode": "Key",
             "provisioningState": "Succeeded", "endpointState": "Online",
             "inferenceEndpoint": {"uri": f"https://{name}.{ws['location']}"
                                          ".models.ai.azure.com", "headers": {}},
             "marketplaceSubscriptionId": None}
    return resource(ws["id"], "serverlessEndpoints", name, "serverlessEndpoints",
                    system_data(by, minutes), props, location=ws["location"],
                    sku={"name": "Consumption"})


def marketplace_subscription(ws: Doc, name: str, by: Actor, minutes: int, model_id: str) -> Doc:
    props = {"modelId": model_id, "marketplaceSubscriptionStatus": "Subscribed",
             "provisioningState": "Succeeded",
             "marketplacePlan": {"publisherId": "metagenai", "offerId": "meta-llama-3-8b-offer",
                                 "planId": "meta-llama-3-8b-chat"}}
    return resource(ws["id"], "marketplaceSubscriptions", name, "marketplaceSubscriptions",
                    system_data(by, minutes), props)
