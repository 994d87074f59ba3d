"""How the client's requests reach the wire: one small interface, two ways to send.

`HttpTransport` is the standard library's http.client under the client's worker threads:
keep-alive connections per origin in a small shared pool, TLS verified against the trust
settings (`trust.tls_context`), proxies from the environment through CONNECT tunnels
(`proxies.Proxies`), connect and read timeouts, no redirects ever followed, no decoding of
HTTP/1.1 by hand (http.client parses every status line, header and chunk). It costs about a
third of the client CPU per request of requests' adapter (bench/transport_options.py).

`SessionTransport` sends through a `requests.Session` instead: what tests use to reach the
in-process emulator adapter mounted on one.

Both raise only the errors below, so the client's retry rules read one vocabulary. Their
`code` is the name requests gave the same fault, which errors and journals have always shown.
"""

from __future__ import annotations

import select
import ssl
import threading
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from http.client import HTTPConnection, HTTPException, HTTPResponse, HTTPSConnection
from typing import BinaryIO, Protocol
from urllib.parse import urlsplit

from amlctl.azure.proxies import NO_PROXIES, Proxies, Proxy

CHUNK = 256 * 1024  # a download is written to its file this much at a time
MAX_DECODED = 256 * 1024 * 1024  # a compressed API answer may not grow past this
TRUST_IDLE_FOR = 1.0  # seconds an idle connection is reused without checking it is open


class TransportError(Exception):
    """A request that got no usable answer; `code` names the fault for messages."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code


class NoAnswer(TransportError):
    """Nothing came back: refused, reset, or no answer in time. What the breaker counts."""


class CutShort(TransportError):
    """An answer began but its body did not arrive whole: the host is there; retry it."""


class Untrusted(TransportError):
    """The server's TLS certificate is not trusted; asking again will not change that."""


@dataclass(frozen=True, slots=True)
class RawReply:
    """Status, headers (a repeated header's values joined by ", ") and the body's bytes (empty
    when the body went to a sink)."""

    status: int
    headers: dict[str, str]
    content: bytes


class Transport(Protocol):
    """Sends one request and reads its whole answer; raises only `TransportError`s.

    `replayable`: the client's retry rules would send this request again anyway, so a
    keep-alive socket the server closed while it sat idle may be retried on a fresh one.
    `sink`: the body goes there in chunks instead of into `RawReply.content`."""

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
    ) -> RawReply: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class _Origin:
    scheme: str
    host: str
    port: int


class HttpTransport:
    """http.client with a pool of idle keep-alive connections per origin, shared by threads."""

    def __init__(
        self,
        pool_size: int,
        context: ssl.SSLContext | None = None,
        proxies: Proxies = NO_PROXIES,
        *,
        trust_idle_for: float = TRUST_IDLE_FOR,
    ) -> None:
        self.pool_size = pool_size
        self.trust_idle_for = trust_idle_for
        self._context = context  # made on first use: a plain-http target never needs one
        self.proxies = proxies
        self._idle: dict[_Origin, list[tuple[HTTPConnection, float]]] = {}
        self._lock = threading.Lock()
        self.opened = 0  # connections made, for tests and benchmarks

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
        split = urlsplit(address)
        scheme, host = split.scheme, split.hostname or ""
        origin = _Origin(scheme, host, split.port or (443 if scheme == "https" else 80))
        proxy = self.proxies.proxy_for(scheme, host)
        target = (split.path or "/") + (f"?{split.query}" if split.query else "")
        if proxy is not None and scheme == "http":
            target = address  # a plain-http proxy is sent the absolute URL
        sent = headers  # http.client adds Host, Content-Length and Accept-Encoding: identity
        connection, reused = self._checkout(origin, proxy, timeout)
        try:
            response = _exchange(connection, method, target, sent, body)
        except _Stale:
            connection.close()
            if not (reused and replayable):
                raise NoAnswer("ConnectionError", "closed before an answer") from None
            connection, _ = self._checkout(origin, proxy, timeout, fresh=True)
            response = _exchange_or_raise(connection, method, target, sent, body)
        except BaseException:
            connection.close()
            raise
        return self._finish(origin, connection, response, sink)

    @property
    def context(self) -> ssl.SSLContext:
        with self._lock:
            if self._context is None:
                self._context = ssl.create_default_context()
            return self._context

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection, _ in connections:
                connection.close()

    def _checkout(
        self, origin: _Origin, proxy: Proxy | None, timeout: tuple[float, float],
        *, fresh: bool = False,
    ) -> tuple[HTTPConnection, bool]:
        """An idle connection to `origin` still open, else a new one. A socket idle for longer
        than `trust_idle_for` is checked first (one the server closed reads as ready: it is
        dropped before anything is sent on it); one just handed back is not, as the check is a
        system call and servers close idle keep-alive sockets after seconds, not milliseconds
        (one that closes sooner says `Connection: close`, and a replayable request that meets
        such a socket is sent again on a fresh one)."""
        while not fresh:
            with self._lock:
                idle = self._idle.get(origin)
                connection, since = idle.pop() if idle else (None, 0.0)
            if connection is None:
                break
            if time.monotonic() - since < self.trust_idle_for or _still_open(connection):
                return connection, True
            connection.close()
        return self._connect(origin, proxy, timeout), False

    def _connect(
        self, origin: _Origin, proxy: Proxy | None, timeout: tuple[float, float]
    ) -> HTTPConnection:
        host, port = (proxy.host, proxy.port) if proxy else (origin.host, origin.port)
        connection: HTTPConnection
        if origin.scheme == "https":
            connection = HTTPSConnection(host, port, timeout=timeout[0], context=self.context)
            if proxy is not None:
                connection.set_tunnel(origin.host, origin.port, headers=proxy.headers)
        else:
            connection = HTTPConnection(host, port, timeout=timeout[0])
        try:
            connection.connect()  # under the connect timeout: TCP, any CONNECT, the handshake
            assert connection.sock is not None
            connection.sock.settimeout(timeout[1])  # from now on, each read's timeout
        except ssl.SSLCertVerificationError as error:
            connection.close()
            raise Untrusted("SSLError", error.verify_message or "certificate") from None
        except TimeoutError:
            connection.close()
            raise NoAnswer("ConnectTimeout", f"{host}:{port}") from None
        except (OSError, HTTPException) as error:  # refused, unreachable, a proxy that said no
            connection.close()
            raise NoAnswer("ConnectionError", type(error).__name__) from None
        with self._lock:
            self.opened += 1
        return connection

    def _finish(
        self, origin: _Origin, connection: HTTPConnection, response: HTTPResponse,
        sink: BinaryIO | None,
    ) -> RawReply:
        if not 200 <= response.status < 300:
            sink = None  # an error's body is read for its message, never written as the bytes
        try:
            content = _read_body(response, sink)
        except BaseException:
            connection.close()
            raise
        headers = _headers(response)
        if response.will_close:
            connection.close()
        else:
            self._release(origin, connection)
        encoding = headers_value(headers, "Content-Encoding").strip().lower()
        if sink is None and encoding not in ("", "identity"):
            content = _decoded(content, encoding)
        return RawReply(response.status, headers, content)

    def _release(self, origin: _Origin, connection: HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(origin, [])
            if len(idle) < self.pool_size:
                idle.append((connection, time.monotonic()))
                return
        connection.close()


class _Stale(Exception):
    """The socket failed before a single byte of the answer came back."""


def _exchange(
    connection: HTTPConnection,
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes | None,
) -> HTTPResponse:
    """Send the request and read the answer's head (status line and headers)."""
    try:
        connection.request(method, target, body, dict(headers))
        response = connection.getresponse()
    except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
        raise _Stale() from None  # RemoteDisconnected (no status line at all) is one too
    except TimeoutError:
        raise NoAnswer("ReadTimeout", "no answer in time") from None
    except ssl.SSLCertVerificationError as error:
        raise Untrusted("SSLError", error.verify_message or "certificate") from None
    except (OSError, HTTPException) as error:  # a garbled status line, a refused reconnect
        raise NoAnswer("ConnectionError", type(error).__name__) from None
    return response


def _exchange_or_raise(
    connection: HTTPConnection,
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes | None,
) -> HTTPResponse:
    """The one retry on a fresh connection: a failure now is the server's, not staleness."""
    try:
        return _exchange(connection, method, target, headers, body)
    except _Stale:
        connection.close()
        raise NoAnswer("ConnectionError", "the connection closed before an answer") from None
    except BaseException:
        connection.close()
        raise


def _read_body(response: HTTPResponse, sink: BinaryIO | None) -> bytes:
    """The whole body, or (with a sink) every chunk written there; a body shorter than its
    Content-Length or a broken chunk is `CutShort`."""
    try:
        if sink is None:
            return response.read()  # IncompleteRead when Content-Length is not met
        while chunk := response.read(CHUNK):
            sink.write(chunk)
        if response.length:  # read(amt) ends quietly at EOF; the length left says cut short
            raise CutShort("ChunkedEncodingError", f"{response.length} bytes missing")
        return b""
    except TimeoutError:
        raise CutShort("ReadTimeout", "the body stalled") from None
    except (OSError, HTTPException) as error:  # IncompleteRead, a reset mid-body
        raise CutShort("ChunkedEncodingError", type(error).__name__) from None


def _still_open(connection: HTTPConnection) -> bool:
    """An idle keep-alive socket that reads as ready has been closed by the server (or sent
    what nobody asked for): either way it must not carry a request."""
    sock = connection.sock
    if sock is None:
        return False
    try:
        ready, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not ready


def _headers(response: HTTPResponse) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in response.getheaders():
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


def headers_value(headers: Mapping[str, str], name: str) -> str:
    """A header's value by any spelling of its name ("" when absent)."""
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return ""


def _decoded(content: bytes, encoding: str) -> bytes:
    """We ask for identity; a server that compresses anyway is read, within a bound."""
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise CutShort("ContentDecodingError", f"unsupported Content-Encoding {encoding!r}")
    inflater = zlib.decompressobj(47)  # 32 + 15: a gzip or a zlib header, detected
    try:
        decoded = inflater.decompress(content, MAX_DECODED)
    except zlib.error:
        raise CutShort("ContentDecodingError", "a compressed body that does not inflate") from None
    if not inflater.eof:
        raise CutShort("ContentDecodingError", "a compressed body cut short or too large")
    return decoded
