"""Where requests go: Azure itself, or an emulator origin that stands in for every catalog host.

The client works with the real https URLs throughout (plans record them); only at send time does
an emulator target rewrite `https://<host>/<path>?<query>` to `<origin>/<host>/<path>?<query>`,
and links the emulator hands back are rewritten the other way before anything checks them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from amlctl.errors import UsageError

TargetKind = Literal["azure", "endpoint", "emulator"]


@dataclass(frozen=True)
class Target:
    """Where requests go, and what a plan records of it: Azure itself, an emulator origin
    (`--endpoint`), or an emulator embedded in the command (`--emulator`).

    `endpoint` is the origin (http(s)://host:port) for endpoint and emulator targets. A plan
    records `recorded`, which keeps the origin only for kind "endpoint": the embedded emulator's
    port changes every run.
    """

    kind: TargetKind
    endpoint: str | None = None

    @classmethod
    def at(cls, origin: str, kind: TargetKind = "endpoint") -> Target:
        split = urlsplit(origin)
        if split.scheme not in ("http", "https") or not split.netloc or split.path not in ("", "/"):
            raise UsageError(
                f"--endpoint must be an origin like http://127.0.0.1:8765, not {origin!r}"
            )
        return cls(kind, f"{split.scheme}://{split.netloc}")

    def route(self, url: str) -> str:
        """The address to send a request for the https `url` to."""
        if self.endpoint is None:
            return url
        split = urlsplit(url)
        query = f"?{split.query}" if split.query else ""
        return f"{self.endpoint}/{split.netloc}{split.path}{query}"

    def unroute(self, url: str) -> str:
        """The https URL an address handed back by the target stands for."""
        if self.endpoint is None or not url.startswith(self.endpoint + "/"):
            return url
        return "https://" + url[len(self.endpoint) + 1 :]

    @property
    def recorded(self) -> Target:
        """The target as a plan records it, and as apply compares it."""
        return Target(self.kind, self.endpoint if self.kind == "endpoint" else None)

    def __str__(self) -> str:
        return self.kind + (f" {self.endpoint}" if self.endpoint else "")


@dataclass(frozen=True)
class Connection:
    """How a command reaches its target, as the command line said."""

    endpoint: str | None = None  # an emulator origin; AMLCTL_ENDPOINT when unset
    emulator: bool = False  # an embedded emulator for this command
    parallelism: int = 10
    max_per_host: int | None = None
