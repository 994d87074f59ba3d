"""With the service down, apply stops after a few connection failures in a row, journals why,
says the service is unreachable and exits 1 (nothing was done), instead of spending the whole
retry schedule on every item."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from apply_helpers import DSR, cli, emulator, make_plan, read_jsonl

from amlctl.azure.breaker import Breaker, ServiceUnreachable


def test_apply_stops_at_once_when_the_service_is_down(tmp_path: Path, work: Path) -> None:
    with emulator(tmp_path / "emu") as emu:
        planned = make_plan(emu, DSR)
        origin = emu.origin
    # The emulator is gone: nothing listens on its port any more.
    begun = time.monotonic()
    result = cli("apply", str(planned.path), "--endpoint", origin, "--yes")
    took = time.monotonic() - begun

    assert result.code == 1, result.text  # nothing of the plan was done
    assert "is unreachable" in result.text and "Traceback" not in result.text
    assert took < 8.0, f"{took:.1f} s: the retries of one item alone took about 8 s before"
    stopped = [r for r in read_jsonl(planned.journal_path) if r["event"] == "stopped"]
    assert len(stopped) == 1 and stopped[0]["reason"] == "unreachable"
    items = planned.receipt_items()  # a receipt all the same
    assert items and all(i["result"] in ("failed", "not-done") for i in items.values())
    assert any("is unreachable" in i["detail"] for i in items.values())


def test_the_breaker_opens_after_failures_in_a_row_and_an_answer_resets_it() -> None:
    breaker = Breaker(threshold=3)
    for _ in range(2):
        breaker.failed("h", "ConnectionError")
    breaker.answered("h")  # the host is there after all
    breaker.failed("h", "ConnectionError")
    breaker.failed("h", "ConnectionError")
    breaker.check("GET", "https://h/x", "h")  # two in a row: still closed
    breaker.failed("h", "Timeout")
    assert breaker.unreachable == "h"
    with pytest.raises(ServiceUnreachable, match=r"h is unreachable \(3 attempts in a row"):
        breaker.check("GET", "https://h/x", "h")
    breaker.check("GET", "https://other/x", "other")  # per host
