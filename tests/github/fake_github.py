"""A tiny GitHub on loopback: the issue-comment calls of its REST API, in memory.

Tests fake GitHub at the HTTP boundary with this, never by patching requests. Tokens map to
logins (TOKENS), so a test can have a second person comment; pages hold PAGE_SIZE comments and
link the next one as GitHub does, so the client's paging is exercised with a few comments.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKENS = {"bot-token": "github-actions[bot]", "mallory-token": "mallory"}
PAGE_SIZE = 2
_LIST = re.compile(r"/repos/([^/]+/[^/]+)/issues/(\d+)/comments")
_ONE = re.compile(r"/repos/([^/]+/[^/]+)/issues/comments/(\d+)")


@dataclass
class FakeGitHub:
    """The state: comments per (repo, pull request), and every call seen (method, path, login)."""

    url: str = ""
    comments: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[tuple[str, str, str]] = field(default_factory=list)
    next_id: int = 1000

    def add(self, repo: str, pr: int, body: str, login: str) -> dict[str, Any]:
        self.next_id += 1
        comment = {"id": self.next_id, "user": {"login": login}, "body": body}
        self.comments.setdefault((repo, pr), []).append(comment)
        return comment

    def bodies(self, repo: str, pr: int) -> list[str]:
        return [c["body"] for c in self.comments.get((repo, pr), [])]


def _handler(state: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet in tests
            return

        def _login(self) -> str | None:
            auth = self.headers.get("Authorization", "")
            return TOKENS.get(auth.removeprefix("Bearer "))

        def _send(self, status: int, doc: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length", "0"))
            return dict(json.loads(self.rfile.read(length) or b"{}"))

        def _handle(self, method: str) -> None:
            parts = urlsplit(self.path)
            login = self._login()
            state.calls.append((method, parts.path, login or "-"))
            if login is None:
                self._send(401, {"message": "Bad credentials"})
                return
            listed, one = _LIST.fullmatch(parts.path), _ONE.fullmatch(parts.path)
            if listed and method == "GET":
                self._list(listed.group(1), int(listed.group(2)), parts.query)
            elif listed and method == "POST":
                repo, pr = listed.group(1), int(listed.group(2))
                self._send(201, state.add(repo, pr, self._body()["body"], login))
            elif one and method == "PATCH":
                self._update(int(one.group(2)), self._body()["body"], login)
            else:
                self._send(404, {"message": "Not Found"})

        def _list(self, repo: str, pr: int, query: str) -> None:
            page = int(parse_qs(query).get("page", ["1"])[0])
            every = state.comments.get((repo, pr), [])
            chunk = every[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
            headers = {}
            if page * PAGE_SIZE < len(every):
                nxt = f"{state.url}/repos/{repo}/issues/{pr}/comments?per_page=100&page={page + 1}"
                headers["Link"] = f'<{nxt}>; rel="next"'
            self._send(200, chunk, headers)

        def _update(self, comment_id: int, body: str, login: str) -> None:
            for comments in state.comments.values():
                for comment in comments:
                    if comment["id"] == comment_id:
                        if comment["user"]["login"] != login:
                            self._send(403, {"message": "not your comment"})
                            return
                        comment["body"] = body
                        self._send(200, comment)
                        return
            self._send(404, {"message": "Not Found"})

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_PATCH(self) -> None:
            self._handle("PATCH")

    return Handler


@contextmanager
def fake_github() -> Iterator[FakeGitHub]:
    """A FakeGitHub serving on a free loopback port until the block ends."""
    state = FakeGitHub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
