"""The loopback HTTP server around `EmulatorApp`, and the socket-level faults.

With an `ssl.SSLContext` (`serve --tls`, see tls.py) it serves https; each connection's
handshake runs in that connection's thread. Connection resets, truncated bodies and stalls need
a socket, so they live here: a reset closes
the socket with SO_LINGER 0 (the client sees ECONNRESET), a truncation promises the full
Content-Length but sends half the body and closes, a stall holds the answer for
`config.stall_seconds` (cut short when the server stops).
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from amlctl.emulator.app import EmulatorApp
from amlctl.emulator.wire import Response
from amlctl.errors import UsageError

_HANDSHAKE_SECONDS = 30  # a TLS client gets this long to finish its handshake


def check_loopback(host: str) -> None:
    """Refuse to listen beyond loopback: the emulator serves fake secrets and accepts tokens
    no one signed."""
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise UsageError(f"the emulator listens on loopback only (127.0.0.1, ::1 or localhost), "
                         f"not {host!r}")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # idle keep-alive connections must not hold up shutdown
    # socketserver listens with a backlog of 5: an apply's ten workers connecting at once
    # overflow it, and the connection that does not fit waits for TCP's 1 s SYN retry.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: EmulatorApp,
                 tls: ssl.SSLContext | None = None) -> None:
        self.app = app
        self.tls = tls
        self.stopping = threading.Event()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Serve one connection (in its own thread). Under TLS the handshake happens here, not
        in the accepting loop, so a client that never finishes one holds up only itself."""
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(_HANDSHAKE_SECONDS)
        secure = self.tls.wrap_socket(request, server_side=True)  # raises on a failed handshake
        try:
            super().finish_request(secure, client_address)
        finally:
            secure.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up mid-answer (or refuse our certificate) are normal here; print no
        traceback."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Azure front doors do
    disable_nagle_algorithm = True  # headers and body go out in two writes
    timeout = 120  # seconds an idle connection may stay open
    server: _HTTPServer

    def __getattr__(self, name: str) -> Any:
        # every method, known or not, goes to the app, which answers 405 where it must
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the app writes its own access log, which never holds headers."""

    def _serve(self) -> None:
        body = self._read_body()
        scheme = "https" if self.server.tls is not None else "http"
        response = self.server.app.handle(self.command, self.path, dict(self.headers.items()),
                                          body, scheme=scheme)
        if response.fault == "reset":
            self._reset()
        elif response.fault == "truncate":
            self._send(response, truncate=True)
        else:
            if response.fault == "stall":
                self.server.stopping.wait(self.server.app.config.stall_seconds)
            self._send(response)

    def _read_body(self) -> bytes:
        cap = self.server.app.config.max_body_bytes
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True  # we do not read chunked bodies; drop the rest
            return b""
        text = self.headers.get("Content-Length", "0").strip()
        if not text.isdigit():
            self.close_connection = True  # unknown framing: answer, then hang up
            return b""
        length = int(text)
        body = self.rfile.read(min(length, cap + 1)) if length else b""
        if length > cap:
            self._drain(length - len(body))
        return body

    def _drain(self, left: int) -> None:
        # read (and drop) an oversized body so the client gets its 413 instead of a broken
        # pipe; past 64 MiB just hang up after answering
        self.close_connection = True
        if left > 64 * 1024 * 1024:
            return
        while left > 0:
            chunk = self.rfile.read(min(left, 65536))
            if not chunk:
                return
            left -= len(chunk)

    def _send(self, response: Response, truncate: bool = False) -> None:
        body = response.body
        no_body = self.command == "HEAD" or response.status in (204, 304)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        declared = len(body) if body or not truncate else 64
        if not no_body or truncate:
            self.send_header("Content-Length", str(declared))
        self.end_headers()
        if truncate:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif not no_body:
            self.wfile.write(body)

    def _reset(self) -> None:
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()


class EmulatorServer:
    """A bound server; `start()` serves in a background thread, `serve_forever()` in this one."""

    def __init__(self, app: EmulatorApp, host: str = "127.0.0.1", port: int = 0,
                 tls: ssl.SSLContext | None = None) -> None:
        check_loopback(host)
        if not 0 <= port <= 65535:
            raise UsageError(f"port must be from 0 to 65535, got {port}")
        try:
            self._http = _HTTPServer((host, port), app, tls)
        except OSError as error:
            raise UsageError(f"cannot listen on {host}:{port}: {error.strerror or error}") \
                from error
        self.app = app
        self.host = host
        self.port = int(self._http.server_address[1])
        self._thread: threading.Thread | None = None

    @property
    def origin(self) -> str:
        """The origin clients use, e.g. http://127.0.0.1:8765 (https:// under TLS)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "https" if self._http.tls is not None else "http"
        return f"{scheme}://{host}:{self.port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._http.serve_forever, args=(0.05,),
                                        name="amlctl-emulator",
                                        daemon=True)
        self._thread.start()

    def serve_forever(self) -> None:
        self._http.serve_forever(poll_interval=0.2)

    def close(self) -> None:
        """Stop serving (ends stalls early) and release the port."""
        self._http.stopping.set()
        if self._thread is not None:
            self._http.shutdown()
            self._thread.join(timeout=5)
        self._http.server_close()


@contextmanager
def running_server(app: EmulatorApp, host: str = "127.0.0.1", port: int = 0,
                   tls: ssl.SSLContext | None = None) -> Iterator[EmulatorServer]:
    """A server running in a background thread for the duration of the block."""
    server = EmulatorServer(app, host, port, tls)
    server.start()
    try:
        yield server
    finally:
        server.close()
