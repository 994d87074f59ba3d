"""The client's requests path: a `Transport` over a `requests.Session`'s mounted adapters.

Tests mount the in-process emulator adapter on a session and hand the session to the client;
this keeps that working with the client's one error vocabulary (`transport.TransportError`).
Real targets use `transport.HttpTransport` (see `connect.open_client`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import BinaryIO

import requests
from requests.adapters import HTTPAdapter

from amlctl.azure.transport import CutShort, NoAnswer, RawReply, TransportError, Untrusted


def new_session(pool_size: int) -> requests.Session:
    """A session whose connection pool fits `pool_size` concurrent workers (requests' default of
    10 would open and discard extra connections past that)."""
    session = requests.Session()
    session.trust_env = False  # no ~/.netrc credentials or proxies slipped into our requests
    adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class SessionTransport:
    """One request through the session's adapter for its address, with the session's headers
    and TLS settings.

    Not `session.request`: per request it merges every setting, runs the cookie jar and the
    redirect machinery, none of which amlctl uses (no cookies, redirects never followed)."""

    def __init__(self, session: requests.Session) -> None:
        self.session = session

    def send(
        self,
        method: str,
        address: str,
        headers: Mapping[str, str],
        body: bytes | None,
        *,
        timeout: tuple[float, float],
        replayable: bool,
        sink: BinaryIO | None = None,
    ) -> RawReply:
        session = self.session
        prepared = requests.Request(
            method, address, headers={**session.headers, **headers}, data=body
        ).prepare()
        try:
            response = session.get_adapter(address).send(
                prepared,
                stream=sink is not None,
                timeout=timeout,
                verify=True if session.verify is None else session.verify,
                cert=session.cert,
                proxies=session.proxies,
            )
            with response:
                content = _read(response, sink)
        except requests.RequestException as error:
            raise _translated(error) from None
        return RawReply(response.status_code, dict(response.headers), content)

    def close(self) -> None:
        self.session.close()


def _read(response: requests.Response, sink: BinaryIO | None) -> bytes:
    if sink is None or not 200 <= response.status_code < 300:
        return response.content  # a truncated body raises here
    for chunk in response.iter_content(256 * 1024):
        sink.write(chunk)
    return b""


def _translated(error: requests.RequestException) -> TransportError:
    name = type(error).__name__
    if isinstance(error, requests.exceptions.SSLError):
        return Untrusted("SSLError", str(error)[:200])
    if isinstance(error, (requests.exceptions.ChunkedEncodingError,
                          requests.exceptions.ContentDecodingError)):
        return CutShort(name)
    if isinstance(error, (requests.ConnectionError, requests.Timeout)):
        return NoAnswer(name)
    return NoAnswer("ConnectionError", name)  # InvalidURL and kin: no request went out
