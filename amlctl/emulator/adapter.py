"""A `requests` transport adapter that answers from an `EmulatorApp` in process.

Mount it on an origin (`session.mount("http://emulator.invalid", EmulatorAdapter(app))`); it
hands the app the same method, target, headers (with `Host` from the URL) and body the loopback
server would, so both answer alike. Socket faults become the exceptions `requests` raises for
them: a reset is a `ConnectionError`, a truncated body a `ChunkedEncodingError` (raised at once,
not while streaming), and a stall a `ReadTimeout` when the caller's read timeout is shorter than
the stall (without waiting); otherwise the stall is slept through.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

from amlctl.emulator.app import EmulatorApp
from amlctl.emulator.wire import Response

ORIGIN = "http://emulator.invalid"


class EmulatorAdapter(BaseAdapter):
    """Send requests to `app.handle` instead of a socket."""

    def __init__(self, app: EmulatorApp) -> None:
        super().__init__()
        self.app = app

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: float | tuple[float | None, float | None] | None = None,
             verify: bool | str = True, cert: Any = None,
             proxies: Mapping[str, str] | None = None) -> requests.Response:
        """Answer `request` through the app, raising for faults as a socket would."""
        parts = urlsplit(request.url or "")
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {"Host": parts.netloc, **dict(request.headers)}
        answer = self.app.handle(request.method or "GET", target, headers, _body(request.body),
                                 scheme=parts.scheme or "http")
        self._misbehave(request, answer, timeout)
        return self._response(request, answer)

    def close(self) -> None:
        """Nothing to release."""

    def _misbehave(self, request: requests.PreparedRequest, answer: Response,
                   timeout: float | tuple[float | None, float | None] | None) -> None:
        if answer.fault == "reset":
            raise requests.ConnectionError(
                ConnectionResetError(104, "Connection reset by peer (emulated)"), request=request)
        if answer.fault == "truncate":
            raise requests.exceptions.ChunkedEncodingError(
                "Connection broken: IncompleteRead (emulated)", request=request)
        if answer.fault == "stall":
            read = timeout[1] if isinstance(timeout, tuple) else timeout
            if read is not None and read < self.app.config.stall_seconds:
                raise requests.exceptions.ReadTimeout(
                    f"Read timed out. (read timeout={read}, emulated)", request=request)
            self.app.sleep(self.app.config.stall_seconds)

    def _response(self, request: requests.PreparedRequest, answer: Response) -> requests.Response:
        response = requests.Response()
        response.status_code = answer.status
        headers = dict(answer.headers)
        if answer.status not in (204, 304):
            headers["Content-Length"] = str(len(answer.body))
        response.headers = CaseInsensitiveDict(headers)
        response.raw = io.BytesIO(answer.body)
        response.reason = HTTPStatus(answer.status).phrase
        response.url = request.url or ""
        response.request = request
        response.encoding = get_encoding_from_headers(response.headers)
        return response


def _body(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return b"".join(chunk if isinstance(chunk, bytes) else str(chunk).encode() for chunk in body)
