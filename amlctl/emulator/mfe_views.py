"""How the current ARM API shows what the data plane also serves: datastores.

A workspace's datastores are one set of registrations, read by the article-era datastore v1.0
service and by ARM alike (a delete through either is gone from both). ARM answers a datastore
as a resource (`id`, `name`, `type`, `systemData`, `properties`) whose credentials name their
type and never a secret: secrets come only from `listSecrets`, which amlctl never calls.
"""

from __future__ import annotations

from typing import Any

from amlctl.emulator.store import Item, Workspace, dumps

Doc = dict[str, Any]
_PROVIDER = "Microsoft.MachineLearningServices"
# v1.0 credential types -> ARM credentialsType
_CREDENTIALS = {"AccountKey": "AccountKey", "Sas": "Sas", "ClientCredentials": "ServicePrincipal",
                "None": "None"}


def datastore(ws: Workspace, item: Item) -> str:
    """The ARM body of a datastore, from its v1.0 registration."""
    doc = item.doc
    name = str(doc.get("name"))
    kind = str(doc.get("dataStoreType"))
    props: Doc = {"datastoreType": kind, "description": None, "tags": doc.get("tags") or {},
                  "properties": {}, "isDefault": name == "workspaceblobstore"}
    storage, lake = doc.get("azureStorageSection"), doc.get("azureDataLakeSection")
    if isinstance(storage, dict):
        props.update(accountName=storage.get("accountName"), endpoint=storage.get("endpoint"),
                     protocol=storage.get("protocol"), serviceDataAccessAuthIdentity="None")
        share = "fileShareName" if kind == "AzureFile" else "containerName"
        props[share] = storage.get("containerName")
        props["credentials"] = {"credentialsType":
                                _CREDENTIALS.get(str(storage.get("credentialType")), "None")}
    elif isinstance(lake, dict):
        client = lake.get("clientCredentials") or {}
        props.update(accountName=lake.get("storeName"), filesystem="datalake",
                     endpoint="core.windows.net", protocol="https")
        props["credentials"] = {"credentialsType": "ServicePrincipal",
                                "clientId": client.get("clientId"),
                                "tenantId": client.get("tenantId"),
                                "authorityUrl": client.get("authorityUrl"),
                                "resourceUrl": client.get("resourceUri")}
    body = {"id": f"{ws_path(ws)}/datastores/{name}", "name": name,
            "type": f"{_PROVIDER}/workspaces/datastores",
            "systemData": doc.get("systemData"), "properties": props}
    return dumps(body)


def ws_path(ws: Workspace) -> str:
    return (f"/subscriptions/{ws.subscription}/resourceGroups/{ws.resource_group}/providers/"
            f"{_PROVIDER}/workspaces/{ws.name}")
