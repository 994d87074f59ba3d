"""What a handler gets: the request, the store, the config; and the shared look-ups."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from amlctl.emulator.config import EmulatorConfig
from amlctl.emulator.envelopes import family_error
from amlctl.emulator.store import Store, Workspace
from amlctl.emulator.wire import Request, Response

Params = dict[str, str]


class Reply(Exception):
    """Raised by a handler (or a look-up it calls) to answer at once, usually with an error."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


@dataclass(frozen=True)
class Context:
    request: Request
    store: Store
    config: EmulatorConfig
    body: bytes = b""  # the request body (the run-history `:query` calls POST one)

    def json_body(self) -> dict[str, Any]:
        """The body as a JSON object ({} when empty); a 400 when it is anything else."""
        if not self.body.strip():
            return {}
        try:
            doc = json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            doc = None
        if not isinstance(doc, dict):
            raise self.fail(400, "ValidationError", "The request body must be a JSON object.")
        return doc

    def fail(self, status: int, code: str, message: str) -> Reply:
        """A Reply carrying an error in the request family's form (raise it)."""
        return Reply(family_error(self.request, status, code, message))

    def workspace(self, params: Params) -> Workspace:
        """The workspace named by the path, served only by hosts of its own region."""
        ws = self.store.get_workspace(params["sub"], params["rg"], params["ws"])
        region = self.request.location
        if ws is not None and (not region or ws.location.lower() == region):
            return ws
        if self.request.family == "arm":
            raise self._arm_missing(params)
        raise self.fail(404, "WorkspaceNotFound",
                        f"Workspace {params['ws']} was not found in resource group "
                        f"{params['rg']} for this region.")

    def _arm_missing(self, params: Params) -> Reply:
        if not self.store.resource_group_exists(params["sub"], params["rg"]):
            return self.fail(404, "ResourceGroupNotFound",
                             f"Resource group '{params['rg']}' could not be found.")
        name = f"Microsoft.MachineLearningServices/workspaces/{params['ws']}"
        if len(self.request.segments) > 8:
            return self.fail(404, "ParentResourceNotFound",
                             f"Can not perform requested operation on nested resource. Parent "
                             f"resource '{params['ws']}' not found.")
        return self.fail(404, "ResourceNotFound",
                         f"The Resource '{name}' under resource group '{params['rg']}' was not "
                         "found. For more details please go to "
                         "https://aka.ms/ARMResourceNotFoundFix")
