"""Small loopback servers for the transport tests: a scripted HTTP/1.1 server and a CONNECT
proxy. Each serves on 127.0.0.1 in a daemon thread and records what it saw."""

from __future__ import annotations

import gzip
import select
import socket
import socketserver
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Seen:
    """What a server saw: each request as (connection number, method, path, headers)."""

    requests: list[tuple[int, str, str, dict[str, str]]] = field(default_factory=list)
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Scripted(BaseHTTPRequestHandler):
    """Answers by path: /ok, /redirect, /truncated, /broken-chunk, /gzip, /hang-up (closes
    the keep-alive connection after answering, without saying so), /drop-second (the second
    request on one connection gets no answer at all: the server closed it meanwhile)."""

    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.seen.lock:
            self.server.seen.connections += 1
            self.number = self.server.seen.connections
        self.served = 0

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        self._answer()

    def do_DELETE(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self._answer()

    def _answer(self) -> None:
        self.served += 1
        with self.server.seen.lock:
            self.server.seen.requests.append(
                (self.number, self.command, self.path, dict(self.headers.items()))
            )
        path = "/" + self.path.split("?")[0].rsplit("/", 1)[-1]  # routed: /<host>/<name>
        if path == "/drop-second" and self.served == 2:
            self.close_connection = True
            return
        if path == "/redirect":
            return self._send(302, b"", {"Location": "/ok"})
        if path == "/truncated":
            self._send(200, b'{"value": [1, 2, 3]}'[:8], {"Content-Length": "20"})
            self.close_connection = True
            return
        if path == "/broken-chunk":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b'10\r\n{"value": [')  # 16 promised, 11 sent, then gone
            self.wfile.flush()
            self.close_connection = True
            return
        if path == "/gzip":
            return self._send(200, gzip.compress(b'{"value": []}'), {"Content-Encoding": "gzip"})
        if path == "/big":
            return self._send(200, bytes(range(256)) * 4096, {"Content-Type": "text/plain"})
        self._send(200, b'{"value": []}')
        if path == "/hang-up":
            self.close_connection = True  # without a Connection: close header

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        headers = {
            "Content-Type": "application/json",
            "Content-Length": str(len(body)),
            **(headers or {}),
        }
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, tls: ssl.SSLContext | None) -> None:
        super().__init__(("127.0.0.1", 0), _Scripted)
        self.seen = Seen()
        self.tls = tls

    def get_request(self) -> tuple[socket.socket, object]:
        sock, address = super().get_request()
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def handle_error(self, request: object, client_address: object) -> None:
        """A refused handshake is the test's point, not noise."""


@contextmanager
def scripted_server(tls: ssl.SSLContext | None = None) -> Iterator[tuple[int, Seen]]:
    server = _Server(tls)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], server.seen
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class ProxyLog:
    """What the proxy saw: each CONNECT's head, and every byte it relayed."""

    heads: list[str] = field(default_factory=list)
    relayed: bytearray = field(default_factory=bytearray)


class _Tunnel(socketserver.BaseRequestHandler):
    server: _ProxyServer

    def handle(self) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        text = head.decode("latin-1")
        self.server.log.heads.append(text)
        authority = text.split(" ")[1]
        port = self.server.routes.get(authority)
        if not text.startswith("CONNECT ") or port is None:
            self.request.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        upstream = socket.create_connection(("127.0.0.1", port))
        self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self._relay(upstream)

    def _relay(self, upstream: socket.socket) -> None:
        sockets = [self.request, upstream]
        with upstream:
            while True:
                ready, _, _ = select.select(sockets, [], [], 5)
                if not ready:
                    return
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    self.server.log.relayed.extend(data)
                    (upstream if sock is self.request else self.request).sendall(data)


class _ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, routes: dict[str, int]) -> None:
        super().__init__(("127.0.0.1", 0), _Tunnel)
        self.routes, self.log = routes, ProxyLog()


@contextmanager
def connect_proxy(routes: dict[str, int]) -> Iterator[tuple[int, ProxyLog]]:
    """A CONNECT proxy that tunnels `host:port` authorities to the loopback ports given."""
    server = _ProxyServer(routes)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], server.log
    finally:
        server.shutdown()
        server.server_close()
