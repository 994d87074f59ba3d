"""Error bodies, one form per service family, as the real services send them.

- ARM: `{"error": {"code", "message", "details"}}`
- data plane (run history, artifacts, notifications, datastores, pipelines):
  `{"error": {code, message, innerError}, "correlation", "environment", "location", "time"}`
- model management: its own flat `{code, statusCode, message, details}`; the framework's
  api-version errors use `{"error": {code, message, innerError}}` (as captured in the wild)
- blob storage: the Azure Storage XML error
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from amlctl.emulator.wire import Request, Response, json_response

_DATAPLANE_TOP_CODES = {429: "RequestThrottled", 500: "ServiceError", 503: "TransientError"}


def arm_error(status: int, code: str, message: str) -> Response:
    """An ARM error envelope."""
    return json_response(status, {"error": {"code": code, "message": message, "details": []}})


def dataplane_error(request: Request, status: int, code: str, message: str) -> Response:
    """A data-plane error envelope; `code` becomes the inner code under UserError/ServiceError."""
    top = _DATAPLANE_TOP_CODES.get(status, "ServiceError" if status >= 500 else "UserError")
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0+00:00")
    region = request.location or "eastus"
    body = {
        "error": {"code": top, "message": message,
                  "innerError": {"code": code, "innerError": None}},
        "correlation": {"operation": uuid.uuid4().hex, "request": request.request_id[:16]},
        "environment": region, "location": region, "time": now,
    }
    return json_response(status, body)


def mms_error(status: int, code: str, message: str,
              details: list[dict[str, Any]] | None = None) -> Response:
    """Model management's flat error form."""
    return json_response(status, {"code": code, "statusCode": status, "message": message,
                                  "details": details or []})


def framework_error(status: int, code: str, message: str) -> Response:
    """The ASP.NET framework form model management used for api-version errors."""
    return json_response(status, {"error": {"code": code, "message": message,
                                            "innerError": None}})


def storage_error(status: int, code: str, message: str) -> Response:
    """An Azure Storage XML error."""
    xml = (f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code>'
           f"<Message>{message}</Message></Error>")
    return Response(status, {"Content-Type": "application/xml", "x-ms-error-code": code},
                    xml.encode())


def family_error(request: Request, status: int, code: str, message: str) -> Response:
    """The error in the form of the family the request went to."""
    if request.family == "arm":
        return arm_error(status, code, message)
    if request.family == "mms":
        return mms_error(status, code, message)
    if request.family == "blob":
        return storage_error(status, code, message)
    return dataplane_error(request, status, code, message)


def missing_token(request: Request) -> Response:
    """401 without a bearer token: ARM's AuthenticationFailed, or the real data-plane body."""
    if request.family == "arm":
        return arm_error(401, "AuthenticationFailed",
                         "Authentication failed. The 'Authorization' header is missing.")
    body = {"error": {"code": "UserError", "severity": None,
                      "message": "Bearer token not provided.", "messageFormat": None,
                      "messageParameters": None,
                      "innerError": {"code": "AuthorizationError", "innerError": None},
                      "debugInfo": None, "additionalInfo": None}}
    return json_response(401, body)
