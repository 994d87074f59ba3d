"""The request handler: `EmulatorApp.handle(method, target, headers, body) -> Response`.

Pure request handling over the store, shared by the loopback server and the in-process adapter
so both answer the same. The order of checks follows a real front door: parse, size, host,
authentication, throttling, routing, api-version, then the handler.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Mapping

from amlctl.emulator import arm, mms, tokens
from amlctl.emulator.accesslog import AccessLog
from amlctl.emulator.config import EmulatorConfig
from amlctl.emulator.context import Context, Reply
from amlctl.emulator.envelopes import family_error, missing_token
from amlctl.emulator.faults import BEFORE, FaultPlan
from amlctl.emulator.parse import parse_target
from amlctl.emulator.routes import Route, match
from amlctl.emulator.store import Store
from amlctl.emulator.throttle import Clock, Decision, Throttle, Windows
from amlctl.emulator.wire import Request, Response

_CLIENT_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_ARM_HEADERS = {"Cache-Control": "no-cache", "Pragma": "no-cache", "Expires": "-1"}


class EmulatorApp:
    """Answers requests for every routed Azure host from a `Store`."""

    def __init__(self, store: Store, config: EmulatorConfig | None = None, *,
                 clock: Clock = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.store = store
        self.config = (config or EmulatorConfig()).checked()
        self.sleep = sleep
        buckets = {"reads": self.config.arm_reads, "deletes": self.config.arm_deletes}
        if self.config.dataplane is not None:
            buckets["dataplane"] = self.config.dataplane
        self._throttle = Throttle(self.config.throttle, buckets, clock)
        self._faults = FaultPlan(self.config)
        self._windows = Windows(clock)
        self._log = AccessLog(self.config.access_log)

    def reconfigure(self, config: EmulatorConfig) -> None:
        """Answer later requests by `config`, its faults drawn afresh from its seed (a test
        plans fault-free, then applies under faults, on one emulator and one origin)."""
        self.config = config.checked()
        self._faults = FaultPlan(self.config)

    def close(self) -> None:
        """Close the access log (the store belongs to whoever opened it)."""
        self._log.close()

    def handle(self, method: str, target: str, headers: Mapping[str, str],
               body: bytes = b"", *, scheme: str = "http") -> Response:
        """Answer one request that came in over `scheme` (the links it hands back use it).
        Never raises: a bug answers 500 with the family's envelope."""
        request_id = str(uuid.uuid4())
        lowered = {name.lower(): value for name, value in headers.items()}
        request, problem = parse_target(method.upper(), target, lowered, request_id, scheme)
        try:
            response = self._answer(request, problem, body)
        except Exception:  # a bug must not reach the wire as a trace nor stop the server
            response = family_error(request, 500, "InternalServerError",
                                    "The emulator failed to handle the request.")
        self._decorate(request, response)
        self._log.write(request.method, target, response, request_id)
        return response

    def _answer(self, request: Request, problem: str | None, body: bytes) -> Response:
        arrived = self._windows.now()
        if self.config.latency_ms:
            self.sleep(self.config.latency_ms / 1000)
        scope = (request.host, _operation(request.method))
        inside = self._windows.inside(scope, arrived)
        if inside is not None:  # sent before its Retry-After elapsed: not processed (ARM)
            return _throttled_again(request, *inside)
        fault = self._faults.draw()
        if fault in BEFORE:
            return _fault_response(request, fault)
        if self._faults.throttled():
            response = _injected_throttle(request, self.config.throttle_retry_after_ms)
        else:
            response = self._checked(request, problem, body)
        if response.status == 429 and fault is None:
            # Only a 429 that reaches the client whole can be obeyed; a cut-short one cannot.
            self._windows.open(scope, _retry_seconds(response))
        if fault is not None:
            response.fault = fault
        return response

    def _checked(self, request: Request, problem: str | None, body: bytes) -> Response:
        if problem is not None:
            return family_error(request, 400, "BadRequest", problem)
        if len(body) > self.config.max_body_bytes:
            return family_error(request, 413, "RequestEntityTooLarge",
                                f"The request body exceeds {self.config.max_body_bytes} bytes.")
        if request.family == "unknown":
            return family_error(request, 404, "HostNotServed",
                                f"The emulator does not serve host '{request.host}'.")
        refused = self._authenticate(request)
        if refused is not None:
            return refused
        decision = self._take(request)
        if decision is not None and not decision.allowed:
            response = _throttled(request, decision)
        else:
            response = self._route(request, body)
        if request.family == "arm" and decision is not None:
            response.headers[_remaining_header(request)] = str(decision.remaining)
        return response

    def _authenticate(self, request: Request) -> Response | None:
        """Refuse real Azure tokens (and any token not ours) on every host, even the ones that
        need none; then require a bearer token where the real service does (tokens.py)."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        refusal = tokens.judge(token) if token else None
        if refusal is not None:
            return family_error(request, 401, refusal.code, refusal.message)
        if request.family == "blob":  # SAS in the query, checked by the handler
            return None
        if request.family == "dataplane" and request.segments == ("discovery",):
            return None  # the discovery document is public: SDKs fetch it without a token
        if scheme.lower() != "bearer" or not token:
            return missing_token(request)
        return None

    def _take(self, request: Request) -> Decision | None:
        if request.family == "arm":
            scope = request.segments[1] if len(request.segments) > 1 else ""
            operation = "deletes" if request.method == "DELETE" else "reads"
            return self._throttle.take(scope.lower(), operation)
        if request.family in ("dataplane", "unified", "mms", "aether") and self.config.dataplane:
            return self._throttle.take("", "dataplane")
        return None

    def _route(self, request: Request, body: bytes) -> Response:
        found = match(request.family, request.method, request.segments)
        if found.route is None:
            return _unmatched(request, found.allowed)
        ctx = Context(request, self.store, self.config, body)
        refused = _version_refusal(ctx, found.route)
        if refused is not None:
            return refused
        try:
            return found.route.handler(ctx, found.params)
        except Reply as reply:
            return reply.response

    def _decorate(self, request: Request, response: Response) -> None:
        headers = response.headers
        headers["x-ms-request-id"] = request.request_id
        client_id = request.headers.get("x-ms-client-request-id", "")
        if _CLIENT_ID.match(client_id):
            headers["x-ms-client-request-id"] = client_id
        if request.family == "arm":
            headers.update(_ARM_HEADERS)
            headers["x-ms-correlation-request-id"] = request.request_id


def _version_refusal(ctx: Context, route: Route) -> Response | None:
    """ARM refuses an api-version the route's resource type lacks; model management its own."""
    if route.family == "arm":
        return arm.check_api_version(ctx, route.api_versions or arm.API_VERSIONS,
                                     route.resource_type)
    if route.family == "mms":
        return mms.check_api_version(ctx)
    return None


def _remaining_header(request: Request) -> str:
    operation = "deletes" if request.method == "DELETE" else "reads"
    return f"x-ms-ratelimit-remaining-subscription-{operation}"


def _throttled(request: Request, decision: Decision) -> Response:
    code = "TooManyRequests" if request.family == "arm" else "RequestThrottled"
    response = family_error(request, 429, code,
                            f"The request was throttled; retry after {decision.retry_after} "
                            "seconds.")
    response.headers["Retry-After"] = str(decision.retry_after)
    return response


def _operation(method: str) -> str:
    return {"GET": "reads", "HEAD": "reads", "DELETE": "deletes"}.get(method, "writes")


def _injected_throttle(request: Request, retry_after_ms: int) -> Response:
    seconds = retry_after_ms / 1000
    response = family_error(request, 429, "TooManyRequests",
                            f"The request was throttled; retry after {seconds:g} seconds "
                            "(injected).")
    response.headers["Retry-After"] = str(max(1, round(seconds)))
    response.headers["retry-after-ms"] = str(retry_after_ms)
    response.fault = "429"
    return response


def _throttled_again(request: Request, since: float, left: float) -> Response:
    response = family_error(request, 429, "TooManyRequests",
                            "The request was sent before the retry value elapsed; retry after "
                            f"{left:.3f} seconds.")
    response.headers["Retry-After"] = str(max(1, round(left)))
    response.headers["retry-after-ms"] = str(max(1, round(left * 1000)))
    response.in_window = since
    return response


def _retry_seconds(response: Response) -> float:
    headers = {name.lower(): value for name, value in response.headers.items()}
    try:
        if "retry-after-ms" in headers:
            return float(headers["retry-after-ms"]) / 1000
        return float(headers.get("retry-after", "1"))
    except ValueError:
        return 1.0


def _fault_response(request: Request, fault: str | None) -> Response:
    if fault == "503":
        response = family_error(request, 503, "ServiceUnavailable",
                                "The service is temporarily unavailable (injected fault).")
    else:
        response = family_error(request, 500, "InternalServerError",
                                "The service failed (injected fault).")
    response.fault = fault  # the transport resets for "reset"; the log records every kind
    return response


def _unmatched(request: Request, allowed: tuple[str, ...]) -> Response:
    if allowed:
        response = family_error(request, 405, "MethodNotAllowed",
                                f"The requested resource does not support http method "
                                f"'{request.method}'.")
        response.headers["Allow"] = ", ".join(allowed)
        return response
    if request.family == "arm" and request.segments[:1] == ("subscriptions",):
        return family_error(request, 404, "InvalidResourceType",
                            f"The resource type could not be found for the path "
                            f"'{request.path}'.")
    return family_error(request, 404, "NotFound",
                        f"No HTTP resource was found that matches the request URI "
                        f"'{request.azure_url}'.")
