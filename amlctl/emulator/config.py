"""The emulator's knobs, in one frozen value checked once."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from amlctl.errors import UsageError

PAGING_FAMILIES = ("arm", "history", "artifact", "notification", "datastore", "mms", "mfe")
FAULT_KINDS = ("500", "503", "reset", "truncate", "stall")


def _default_page_sizes() -> dict[str, int]:
    # Only the datastore default (30) is documented; the others are unknown, so 100. The
    # current ARM lists ("mfe") answer 3 at a time, far fewer than Azure, so that the demo's
    # lists page and a client that ignores nextLink misses items there too.
    sizes = {"datastore": 30, "mfe": 3}
    return {family: sizes.get(family, 100) for family in PAGING_FAMILIES}


@dataclass(frozen=True)
class Bucket:
    """A token bucket: `burst` tokens, refilled at `per_second`."""

    burst: int
    per_second: float


@dataclass(frozen=True)
class EmulatorConfig:
    """Everything that changes how the emulator answers. Build variants with `replace()`."""

    page_sizes: dict[str, int] = field(default_factory=_default_page_sizes)
    empty_pages: int = 0  # empty pages (with a next link) served before every real page
    lro_polls: int = 1  # InProgress answers before Succeeded on the workspace delete
    lro_retry_after: int | None = None  # Retry-After seconds on 202 and InProgress polls
    workspace_delete: Literal["async", "sync"] = "async"
    service_delete_202: Literal["never", "always", "aks"] = "aks"
    throttle: bool = True
    arm_reads: Bucket = Bucket(250, 25.0)
    arm_deletes: Bucket = Bucket(200, 10.0)
    dataplane: Bucket | None = None  # optional data-plane throttling
    latency_ms: int = 0
    fault_rate: float = 0.0
    fault_seed: int | None = None
    fault_kinds: tuple[str, ...] = FAULT_KINDS
    # Injected throttling, drawn apart from the faults (so a fault seed replays as before): the
    # share of requests answered 429, and the Retry-After they carry (sent as retry-after-ms
    # too, so a test may ask for less than a second).
    throttle_rate: float = 0.0
    throttle_retry_after_ms: int = 1000
    stall_seconds: float = 35.0
    access_log: Path | None = None
    max_body_bytes: int = 1024 * 1024

    def replace(self, **changes: object) -> EmulatorConfig:
        """A copy with some fields changed (and checked)."""
        return dataclasses.replace(self, **changes).checked()  # type: ignore[arg-type]

    def with_page_size(self, size: int) -> EmulatorConfig:
        """A copy with every paging family's page size set to `size`."""
        return self.replace(page_sizes={family: size for family in PAGING_FAMILIES})

    def page_size(self, family: str) -> int:
        return self.page_sizes.get(family, 100)

    def checked(self) -> EmulatorConfig:
        """Return self, or raise UsageError naming the first bad value."""
        if self.latency_ms < 0:
            raise UsageError(f"latency must be 0 or more milliseconds, got {self.latency_ms}")
        if not 0.0 <= self.fault_rate <= 1.0:
            raise UsageError(f"fault rate must be between 0 and 1, got {self.fault_rate}")
        if not 0.0 <= self.throttle_rate <= 1.0 or self.throttle_retry_after_ms < 1:
            raise UsageError(
                f"throttle rate must be between 0 and 1 and its Retry-After at least 1 ms, got "
                f"{self.throttle_rate} and {self.throttle_retry_after_ms} ms"
            )
        if any(size < 1 for size in self.page_sizes.values()):
            raise UsageError(f"page sizes must be at least 1, got {self.page_sizes}")
        unknown = set(self.fault_kinds) - set(FAULT_KINDS)
        if unknown:
            raise UsageError(f"unknown fault kinds {sorted(unknown)}; known: {FAULT_KINDS}")
        if self.empty_pages < 0 or self.lro_polls < 0 or self.stall_seconds < 0:
            raise UsageError("empty_pages, lro_polls and stall_seconds must not be negative")
        return self
