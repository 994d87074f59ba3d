"""Request and response values shared by the app, the handlers, the server and the adapter."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

JSON = "application/json; charset=utf-8"


@dataclass
class Response:
    """What the app answers. `fault` asks the transport to misbehave (reset, truncate, stall)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    fault: str | None = None
    # For a request that arrived while its scope was throttled: how long after the 429 that
    # opened the window (seconds). Only the access log reads it; clients must never do this.
    in_window: float | None = None


@dataclass(frozen=True)
class Request:
    """A parsed, routed request: `host` is the Azure host it stands for."""

    method: str
    host: str
    family: str  # arm | dataplane | unified | mms | aether | blob | unknown
    location: str  # the region named by a data-plane host, "" for ARM
    segments: tuple[str, ...]  # decoded path segments after the host
    path: str  # the path after the host, as sent (still percent-encoded)
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # lowercased names
    origin: str  # scheme and authority the request came in on, e.g. http://127.0.0.1:8765
    request_id: str

    def arg(self, name: str, *, fold: bool = False) -> str | None:
        """The first value of a query parameter; `fold` matches the name case-insensitively."""
        if name in self.query:
            return self.query[name][0]
        if fold:
            for key, values in self.query.items():
                if key.lower() == name.lower():
                    return values[0]
        return None

    def args(self, name: str) -> list[str]:
        return list(self.query.get(name, []))

    @property
    def azure_url(self) -> str:
        """The https URL this request stands for (what the real service would have seen)."""
        query = urlencode([(k, v) for k, vs in self.query.items() for v in vs])
        return f"https://{self.host}{self.path}" + (f"?{query}" if query else "")

    def routed(self, host: str, path: str, query: Mapping[str, str] | None = None) -> str:
        """An absolute URL for the client, in the routed form on this request's origin."""
        url = f"{self.origin}/{host}{path}"
        return url + ("?" + urlencode(query, safe="$:") if query else "")

    def self_url(self, changes: Mapping[str, str | None]) -> str:
        """This request's routed URL with some query parameters replaced (None removes one)."""
        pairs: dict[str, str] = {k: vs[0] for k, vs in self.query.items()}
        for key, value in changes.items():
            # a client may have sent `$skiptoken` where we answer with `$skipToken`
            for sent in [k for k in pairs if k.lower() == key.lower()]:
                del pairs[sent]
            if value is not None:
                pairs[key] = value
        return self.routed(self.host, self.path, pairs)


def json_response(status: int, doc: Any, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON response; `doc` may be a value or an already serialized JSON string."""
    text = doc if isinstance(doc, str) else json.dumps(doc, separators=(",", ":"))
    return Response(status, {"Content-Type": JSON, **(headers or {})}, text.encode())


def empty_response(status: int, headers: Mapping[str, str] | None = None) -> Response:
    return Response(status, dict(headers or {}), b"")
