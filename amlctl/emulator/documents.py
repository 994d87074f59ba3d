"""Item documents with the real services' field names, built from a few values.

The seeds use these so the demo and scale data look alike. Everything is derived from the
arguments (no clock, no randomness), so seeding twice gives byte-identical stores.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from amlctl.emulator.store import make_etag

TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
PROVIDER = "Microsoft.MachineLearningServices"
_EPOCH = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
_NAMESPACE = uuid.UUID("0b5d1e9c-6f3a-4c2e-9a7d-5e4f3a2b1c0d")

Doc = dict[str, Any]


@dataclass(frozen=True)
class User:
    object_id: str
    name: str

    def created_by(self) -> Doc:
        """The run-history `createdBy` object (personal data)."""
        return {"userObjectId": self.object_id, "userTenantId": TENANT_ID,
                "userName": self.name}


def stamp(minutes: int, style: str = "history") -> str:
    """A fixed time `minutes` after the seed epoch, in the service's own format."""
    moment = _EPOCH + timedelta(minutes=minutes)
    if style == "history":
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0+00:00"


def guid(*parts: object) -> str:
    """A deterministic GUID for the given parts."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(str(p) for p in parts)))


def ws_id(sub: str, rg: str, ws: str) -> str:
    return (f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{PROVIDER}/workspaces/{ws}")


def storage_account(ws: str) -> str:
    """The workspace's storage account name (3-24 lowercase letters and digits)."""
    return ("".join(c for c in ws.lower() if c.isalnum()) + "store")[:24]


def workspace(sub: str, rg: str, name: str, location: str, minutes: int) -> Doc:
    rid = f"/subscriptions/{sub}/resourceGroups/{rg}/providers"
    props = {
        "friendlyName": name, "description": f"{name} (amlctl emulator)",
        "creationTime": stamp(minutes, "arm"), "workspaceId": guid("workspace", sub, rg, name),
        "storageAccount": f"{rid}/microsoft.storage/storageaccounts/{storage_account(name)}",
        "containerRegistry": None,
        "keyVault": f"{rid}/microsoft.keyvault/vaults/{name}kv",
        "applicationInsights": f"{rid}/microsoft.insights/components/{name}ai",
        "hbiWorkspace": False,
        "discoveryUrl": f"https://{location}.experiments.azureml.net/discovery",
        "provisioningState": "Succeeded",
    }
    doc: Doc = {"id": ws_id(sub, rg, name), "name": name,
                "type": f"{PROVIDER}/workspaces", "location": location, "tags": {},
                "sku": {"name": "Basic", "tier": "Basic"},
                "identity": {"type": "SystemAssigned", "principalId": guid("principal", name),
                             "tenantId": TENANT_ID},
                "properties": props}
    doc["etag"] = make_etag(repr(sorted(props.items())))
    return doc


def compute(ws: Doc, name: str, vm_size: str, minutes: int) -> Doc:
    return {
        "id": f"{ws['id']}/computes/{name}", "name": name,
        "type": f"{PROVIDER}/workspaces/computes", "location": ws["location"],
        "properties": {
            "computeType": "AmlCompute", "computeLocation": ws["location"],
            "description": f"{name} for training", "provisioningState": "Succeeded",
            "createdOn": stamp(minutes, "arm"), "modifiedOn": stamp(minutes + 5, "arm"),
            "resourceId": None, "provisioningErrors": None, "isAttachedCompute": False,
            "properties": {"vmSize": vm_size, "vmPriority": "Dedicated",
                           "scaleSettings": {"minNodeCount": 0, "maxNodeCount": 4}},
        },
    }


def experiment(name: str, minutes: int, latest_run: str | None, latest_minutes: int) -> Doc:
    return {"experimentId": guid("experiment", name), "name": name, "description": None,
            "createdUtc": stamp(minutes), "tags": {}, "archivedTime": None,
            "latestCreatedRunCreatedUtc": stamp(latest_minutes) if latest_run else None,
            "latestCreatedRunId": latest_run}


def run(exp: str, run_id: str, number: int, user: User, minutes: int, status: str,
        target: str) -> Doc:
    return {
        "runNumber": number, "rootRunId": run_id, "experimentId": guid("experiment", exp),
        "createdUtc": stamp(minutes), "createdBy": user.created_by(),
        "userId": user.object_id, "token": None, "tokenExpiryTimeUtc": None, "error": None,
        "warnings": None, "revision": 7, "runId": run_id, "parentRunId": None,
        "status": status, "startTimeUtc": stamp(minutes + 1),
        "endTimeUtc": None if status == "Running" else stamp(minutes + 9),
        "heartbeatEnabled": False, "name": None, "dataContainerId": f"dcid.{run_id}",
        "description": None, "hidden": False, "runType": "azureml.scriptrun",
        "properties": {"azureml.runsource": "experiment"}, "scriptName": "train.py",
        "target": target, "tags": {}, "runDefinition": {"script": "train.py"},
        "createdFrom": None, "cancelUri": None, "diagnosticsUri": None,
    }


def metric(run_id: str, name: str, value: float, minutes: int) -> Doc:
    return {"runId": run_id, "metricId": guid("metric", run_id, name),
            "dataContainerId": f"dcid.{run_id}", "metricType": "azureml.v1.scalar",
            "createdUtc": stamp(minutes), "name": name, "description": None, "label": None,
            "numCells": 1, "dataLocation": None, "cells": [{name: value}],
            "schema": {"numProperties": 1, "properties": [
                {"propertyId": name, "name": name, "type": "float"}]}}


def artifact(run_id: str, path: str, content: bytes, minutes: int) -> Doc:
    container = f"dcid.{run_id}"
    return {"artifactId": f"ExperimentRun/{container}/{path}", "origin": "ExperimentRun",
            "container": container, "path": path, "etag": make_etag(content),
            "createdTime": stamp(minutes, "arm"),
            "dataPath": {"dataStoreName": "workspaceartifactstore",
                         "relativePath": f"ExperimentRun/{container}/{path}",
                         "sqlDataPath": None}}


def task(task_id: str, name: str, user: User, minutes: int, run_id: str | None) -> Doc:
    email = user.name.lower().replace(" ", ".") + "@example.com"
    return {"taskId": task_id, "name": name, "status": "Active", "runId": run_id,
            "createdTime": stamp(minutes), "lastUpdatedTime": stamp(minutes + 30),
            "createdBy": user.created_by(),
            "notifications": [{"type": "Email", "target": email,
                               "events": ["RunCompleted", "RunFailed"]}]}


def datastore(name: str, kind: str, credential: str, secret: str, sub: str, rg: str,
              account: str) -> Doc:
    """A datastore as `datastore.json` (2019-08-01) shapes it. Blob, file and ADLS Gen2
    datastores all keep their account in `azureStorageSection` (azureml-core reads a Gen2
    datastore from there, its service principal in `clientCredentials`); only Gen1 lakes use
    `azureDataLakeSection`."""
    principal = credential == "ClientCredentials"  # a service principal, not a key or SAS
    storage: Doc = {
        "accountName": account, "containerName": f"azureml-{name}", "endpoint": "core.windows.net",
        "protocol": "https", "credentialType": credential,
        "credential": None if principal else secret,
        "clientCredentials": _client_credentials(name, secret, sub, rg) if principal else None,
        "blobCacheTimeout": 0, "isSas": credential == "Sas",
        "accountKey": secret if credential == "AccountKey" else None,
        "sasToken": secret if credential == "Sas" else None,
        "areWorkspaceManagedIdentitiesAllowed": False, "subscriptionId": sub,
        "resourceGroup": rg}
    return {"name": name, "dataStoreType": kind, "hasBeenValidated": True, "tags": {},
            "azureStorageSection": storage, "azureDataLakeSection": None,
            "azureSqlDatabaseSection": None, "azurePostgreSqlSection": None,
            "glusterFsSection": None}


def _client_credentials(name: str, secret: str, sub: str, rg: str) -> Doc:
    """`ClientCredentials` of a service principal on a storage account (personal data: none;
    secret: `clientSecret`)."""
    return {"clientId": guid("client", name), "tenantId": TENANT_ID, "isCertAuth": False,
            "certificate": None, "thumbprint": None, "clientSecret": secret,
            "authorityUrl": "https://login.microsoftonline.com",
            "resourceUri": "https://storage.azure.com/", "subscriptionId": sub,
            "resourceGroup": rg}


def model(name: str, version: int, run_id: str | None, exp: str | None, minutes: int,
          framework: str, description: str) -> Doc:
    return {"id": f"{name}:{version}", "name": name, "framework": framework,
            "frameworkVersion": "1.3.2", "version": version, "tags": [],
            "kvTags": {"team": exp or "none"}, "properties": {}, "datasets": [],
            "url": f"aml://asset/{asset_id(name, version)}",
            "mimeType": "application/octet-stream", "description": description,
            "createdTime": stamp(minutes, "arm"), "modifiedTime": stamp(minutes, "arm"),
            "unpack": False, "parentModelId": None, "runId": run_id, "experimentName": exp}


def asset_id(name: str, version: int) -> str:
    return hashlib.md5(f"{name}:{version}".encode()).hexdigest()


def asset(name: str, version: int, run_id: str | None, minutes: int) -> Doc:
    return {"id": asset_id(name, version), "name": name, "description": None,
            "artifacts": [{"id": f"ExperimentRun/dcid.{run_id}/outputs/model.pkl"
                           if run_id else f"LocalUpload/{asset_id(name, version)[:8]}/model.pkl",
                           "prefix": None}],
            "tags": [], "kvTags": {}, "properties": {}, "runid": run_id, "projectid": None,
            "meta": {}, "createdTime": stamp(minutes, "arm")}


def image(name: str, version: int, model_ids: list[str], minutes: int, account: str) -> Doc:
    """An image as stored. `modelDetails` is not stored: a get joins it from the models (see
    views.py), so it cannot go stale when a model changes or goes."""
    operation = guid("image-op", name, version)
    return {"id": f"{name}:{version}", "name": name, "version": version, "description": None,
            "tags": [], "kvTags": {}, "properties": {}, "createdTime": stamp(minutes, "arm"),
            "modifiedTime": stamp(minutes, "arm"), "autoDelete": False, "imageType": "Docker",
            "imageFlavor": "WebApiContainer", "creationState": "Succeeded", "error": None,
            "modelIds": model_ids, "imageLocation": f"demoacr.azurecr.io/{name}:{version}",
            "imageBuildLogUri": f"https://{account}.blob.core.windows.net/azureml/ImageLogs/"
                                f"{operation}/build.log",
            "operationId": operation}


def service(name: str, image_id: str, compute_type: str, minutes: int, location: str) -> Doc:
    """A service as stored; `imageDetails` is joined from the image by a get (see views.py)."""
    aks = compute_type == "AKS"
    base = (f"http://{name}.{location}.cloudapp.azure.com/api/v1/service/{name}" if aks
            else f"http://{guid('aci', name)}.{location}.azurecontainer.io")
    return {"id": name, "name": name, "description": None, "tags": [], "kvTags": {},
            "properties": {}, "operationId": guid("service-op", name), "state": "Healthy",
            "createdTime": stamp(minutes, "arm"), "updatedTime": stamp(minutes + 6, "arm"),
            "error": None, "computeType": compute_type,
            "deploymentType": "HttpRealtimeEndpoint", "imageId": image_id,
            "scoringUri": f"{base}/score", "swaggerUri": f"{base}/swagger.json",
            "appInsightsEnabled": False, "authEnabled": aks}  # AKS enables key auth by default


def pipeline_entity(kind: str, entity_id: str, name: str, user: User, minutes: int) -> Doc:
    return {"id": entity_id, "name": name, "description": f"{kind} {name}",
            "entityStatus": "Active", "createdDate": stamp(minutes, "arm"),
            "lastModifiedDate": stamp(minutes + 10, "arm"), "createdBy": user.created_by(),
            "etag": make_etag(f"{kind}/{entity_id}")}
