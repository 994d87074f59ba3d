"""Proxies from the environment, read as requests reads them: HTTPS_PROXY for https URLs,
HTTP_PROXY for http ones, ALL_PROXY for either, NO_PROXY for the hosts that go direct.

An https request goes through an http:// proxy as a CONNECT tunnel: TLS runs end to end with
the real host, so the proxy sees the host name and nothing else (never the token). A plain
http request (only an emulator endpoint is plain http) is sent to the proxy whole.
"""

from __future__ import annotations

import base64
import urllib.request
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import unquote, urlsplit

from amlctl.errors import UsageError


@dataclass(frozen=True)
class Proxy:
    """Where to connect instead of the origin, and the headers the proxy wants (its auth)."""

    host: str
    port: int
    headers: dict[str, str] = field(default_factory=dict, hash=False)


class Proxies:
    """The environment's proxy settings, read once: a per-request look-up is a dict hit."""

    def __init__(self, settings: dict[str, str]) -> None:
        self._settings = settings
        self._by_scheme = {
            scheme: _parse(settings.get(scheme) or settings.get("all") or "", scheme)
            for scheme in ("https", "http")
        }
        self.proxy_for = lru_cache(maxsize=256)(self._proxy_for)

    @classmethod
    def from_environment(cls) -> Proxies:
        return cls(urllib.request.getproxies_environment())

    def _proxy_for(self, scheme: str, host: str) -> Proxy | None:
        proxy = self._by_scheme.get(scheme)
        # urllib's NO_PROXY matching, the one requests uses (undocumented, so untyped)
        bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
        if proxy is None or bypass(host, self._settings):
            return None
        return proxy


def _parse(value: str, scheme: str) -> Proxy | None:
    if not value:
        return None
    variable = f"{scheme.upper()}_PROXY"
    split = urlsplit(value if "://" in value else f"http://{value}")
    try:
        port = split.port or 80
    except ValueError:
        raise UsageError(f"{variable} has a port that is not a number: {split.netloc}") from None
    if split.scheme != "http" or not split.hostname:
        raise UsageError(
            f"{variable} must be an http:// proxy (https requests tunnel through it), "
            f"not {split.scheme}://{split.hostname or ''}"
        )
    headers: dict[str, str] = {}
    if split.username is not None:
        pair = f"{unquote(split.username)}:{unquote(split.password or '')}"
        headers["Proxy-Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    return Proxy(split.hostname, port, headers)


NO_PROXIES = Proxies({})
