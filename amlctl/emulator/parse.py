"""Turn a raw request target `/<azure-host>/<path>?<query>` into a `Request`.

Parsing never fails: it returns the request it could build and a problem (a 400 message) when
the target is malformed, so the error still goes out in the right family's envelope.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import parse_qs, unquote

from amlctl.emulator.routes import classify_host
from amlctl.emulator.wire import Request

_HOST = re.compile(r"^[a-z0-9.-]{1,253}$")
_ABSOLUTE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/]*")


def parse_target(method: str, target: str, headers: Mapping[str, str],
                 request_id: str, scheme: str = "http") -> tuple[Request, str | None]:
    """The request and, if the target is malformed, why."""
    problem = None
    if not target.isascii():
        # http.server hands us the raw bytes as latin-1; anything else must be UTF-8
        try:
            target = target.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            problem = "The request target is not valid UTF-8."
    target = _ABSOLUTE.sub("", target)
    path, _, query_text = target.partition("?")
    raw = path.lstrip("/").split("/")
    host = raw[0].lower()
    family, region = classify_host(host) if _HOST.match(host) else ("unknown", "")
    segments, bad_path = _segments(raw[1:])
    query, bad_query = _query(query_text)
    origin = f"{scheme}://" + headers.get("host", "127.0.0.1")
    request = Request(method, host, family, region, segments, "/" + "/".join(raw[1:]), query,
                      headers, origin, request_id)
    return request, problem or bad_path or bad_query


def _segments(raw: list[str]) -> tuple[tuple[str, ...], str | None]:
    if raw and raw[-1] == "":
        raw = raw[:-1]  # one trailing slash is harmless
    try:
        decoded = tuple(unquote(part, errors="strict") for part in raw)
    except UnicodeDecodeError:
        return (), "The request path is not valid UTF-8 once percent-decoded."
    if any(part in ("", ".", "..") for part in decoded):
        return (), "The request path has empty, '.' or '..' segments."
    if any("/" in part or not part.isprintable() for part in decoded):
        return (), "The request path has an encoded '/' or a control character in a segment."
    return decoded, None


def _query(text: str) -> tuple[dict[str, list[str]], str | None]:
    try:
        return parse_qs(text, keep_blank_values=True, errors="strict"), None
    except (UnicodeDecodeError, ValueError):
        return {}, "The query string is malformed or not valid UTF-8."
