"""`amlctl emulator serve` in a process of its own, for the benchmarks that time a client
against it: its own GIL, so the emulator's CPU never counts as the client's, and throttling off,
so no 429 pause hides in a timing. Every request lands in its access log."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def emulator_process(
    db: Path, *, seed: str, latency_ms: int, log: Path
) -> Iterator[tuple[str, int]]:
    """Serve `db` (seeded with `seed` first unless it is "none"); yields (origin, pid)."""
    command = [sys.executable, "-m", "amlctl", "emulator", "serve", "--port", "0",
               "--db", str(db), "--seed", seed, "--latency-ms", str(latency_ms),
               "--access-log", str(log), "--no-throttle"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line.startswith("amlctl emulator listening on "):
            raise SystemExit(f"the emulator did not start: {line!r}")
        yield line.rsplit(" ", 1)[1], process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
