"""The few calls of GitHub's REST API the pull-request workflow makes: a PR's comments.

A client over an injected `requests.Session` and base URL (GitHub Actions sets GITHUB_API_URL;
GitHub Enterprise has its own), so tests fake GitHub with a local HTTP server. The token goes
in the Authorization header and nowhere else: never into an error message or a log line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from amlctl.errors import ApiError, UsageError

DEFAULT_API_URL = "https://api.github.com"
_TIMEOUT = 30  # seconds per call; a CI step must not hang on a stuck connection
_REPO = re.compile(r"[A-Za-z0-9-]+/[A-Za-z0-9._-]+")
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


@dataclass(frozen=True)
class Comment:
    """An issue comment on a pull request: its id, author login and Markdown body."""

    id: int
    author: str
    body: str


class GitHubApi:
    """A pull request's comments in one repository."""

    def __init__(
        self, repo: str, token: str, *, base_url: str = DEFAULT_API_URL,
        session: requests.Session | None = None,
    ) -> None:
        if not _REPO.fullmatch(repo):
            raise UsageError(f"--repo {repo!r}: expected OWNER/NAME")
        self.repo, self.base_url = repo, _checked_base(base_url)
        self.origin = _origin(self.base_url)
        self.session = session or requests.Session()
        self._headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }

    def comments(self, pr: int) -> Iterator[Comment]:
        """Every comment of pull request `pr`, oldest first, following the Link header."""
        url: str | None = f"{self.base_url}/repos/{self.repo}/issues/{pr}/comments?per_page=100"
        while url is not None:
            response = self._call("GET", url)
            for item in response.json():
                yield _comment(item)
            found = _NEXT.search(response.headers.get("Link", ""))
            url = found.group(1) if found else None
            if url is not None and _origin(url) != self.origin:
                # The token goes with every page: never to another host than the API's.
                raise ApiError("GET", url, None, message=f"next page is not on {self.origin}")

    def create_comment(self, pr: int, body: str) -> Comment:
        url = f"{self.base_url}/repos/{self.repo}/issues/{pr}/comments"
        return _comment(self._call("POST", url, {"body": body}).json())

    def update_comment(self, comment_id: int, body: str) -> Comment:
        url = f"{self.base_url}/repos/{self.repo}/issues/comments/{comment_id}"
        return _comment(self._call("PATCH", url, {"body": body}).json())

    def _call(
        self, method: str, url: str, payload: Mapping[str, Any] | None = None
    ) -> requests.Response:
        try:
            response = self.session.request(
                method, url, json=payload, headers=self._headers, timeout=_TIMEOUT,
                allow_redirects=False,
            )
        except requests.RequestException as error:
            raise ApiError(method, url, None, message=type(error).__name__) from None
        if response.status_code >= 300:
            raise ApiError(method, url, response.status_code, message=_message(response))
        return response


def _checked_base(url: str) -> str:
    """The API's base URL: https, or http on this machine only (a test's fake GitHub)."""
    split = urlsplit(url)
    loopback = split.hostname in ("127.0.0.1", "::1", "localhost")
    if split.scheme != "https" and not (split.scheme == "http" and loopback):
        raise UsageError(f"--api-url {url!r}: GitHub's API is reached over https only")
    return url.rstrip("/")


def _origin(url: str) -> str:
    split = urlsplit(url)
    return f"{split.scheme}://{split.netloc}".lower()


def _comment(item: Mapping[str, Any]) -> Comment:
    return Comment(int(item["id"]), str((item.get("user") or {}).get("login", "")),
                   str(item.get("body") or ""))


def _message(response: requests.Response) -> str:
    try:
        return str(response.json().get("message", ""))[:200]
    except ValueError:
        return response.reason or ""
