"""Render tests: shared plan factories, and golden files that AMLCTL_UPDATE_GOLDEN=1 rewrites."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

# The plan factories live next to the plan tests; both test folders build plans the same way.
_FACTORIES = str(Path(__file__).resolve().parents[1] / "plan")
if _FACTORIES not in sys.path:
    sys.path.insert(0, _FACTORIES)

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture
def golden() -> Callable[[str, str], None]:
    """Compare text with golden/<name>, or rewrite it when AMLCTL_UPDATE_GOLDEN=1."""

    def check(name: str, actual: str) -> None:
        path = GOLDEN / name
        if os.environ.get("AMLCTL_UPDATE_GOLDEN") == "1":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(actual.encode("utf-8"))
            return
        if not path.exists():
            pytest.fail(f"no golden file {path}; run with AMLCTL_UPDATE_GOLDEN=1 and review it")
        assert actual == path.read_bytes().decode("utf-8"), (
            f"{name} differs from its golden file; if the change is intended, run with "
            "AMLCTL_UPDATE_GOLDEN=1 and review the diff"
        )

    return check
