"""The `amlctl emulator` commands (`serve`, `info`) and the embedded server behind
`--emulator`. amlctl.cli parses options and calls these; they return exit codes."""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from amlctl.emulator.app import EmulatorApp
from amlctl.emulator.config import EmulatorConfig
from amlctl.emulator.database import default_db_path, open_store
from amlctl.emulator.seed import parse_seed
from amlctl.emulator.server import EmulatorServer, check_loopback, running_server
from amlctl.emulator.tls import certificate_path, ensure_certificate, server_context
from amlctl.errors import EXIT_OK, UsageError

__all__ = ["default_db_path", "embedded", "info", "open_store", "serve"]


def serve(host: str, port: int, db: Path | None, seed: str, latency_ms: int, fault_rate: float,
          fault_seed: int | None, access_log: Path | None, page_size: int | None,
          throttle: bool, tls: bool = False) -> int:
    """Serve until Ctrl-C or SIGTERM; print the origin first (one line, flushed), then, with
    `tls`, the path of the certificate clients must trust."""
    config = EmulatorConfig(latency_ms=latency_ms, fault_rate=fault_rate, fault_seed=fault_seed,
                            access_log=access_log, throttle=throttle).checked()
    if page_size is not None:
        config = config.with_page_size(page_size)
    parse_seed(seed)
    check_loopback(host)
    db = db or default_db_path()
    pem = ensure_certificate(certificate_path(db)) if tls else None
    store = open_store(db, seed)
    app = EmulatorApp(store, config)
    try:
        server = EmulatorServer(app, host, port, server_context(pem) if pem else None)
        print(f"amlctl emulator listening on {server.origin}", flush=True)
        if pem is not None:
            print(f"amlctl emulator certificate (trust it as a CA bundle): {pem}", flush=True)
        previous = _stop_on_sigterm()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.close()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
    finally:
        app.close()
        store.close()
    return EXIT_OK


def _stop_on_sigterm() -> Callable[[int, FrameType | None], Any] | int | None:
    """Make SIGTERM stop the server like Ctrl-C; returns the handler it replaced (None when not
    on the main thread, where signals cannot be handled)."""
    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, interrupt)


def info(db: Path | None, fmt: str) -> int:
    """Print the workspaces of a database with item counts per kind (json or table)."""
    if fmt not in ("json", "table"):
        raise UsageError(f"unknown format {fmt!r}: use json or table")
    if db is not None and not db.exists():
        raise UsageError(f"no emulator database at {db}")
    store = open_store(db, "demo")
    try:
        rows = [(ws, store.counts(ws.key)) for ws in store.list_workspaces()]
    finally:
        store.close()
    if fmt == "json":
        print(json.dumps([{"subscriptionId": ws.subscription, "resourceGroup": ws.resource_group,
                           "workspace": ws.name, "location": ws.location, "counts": counts}
                          for ws, counts in rows], indent=2))
    for ws, counts in rows if fmt == "table" else []:
        listed = ", ".join(f"{kind}={n}" for kind, n in counts.items())
        print(f"{ws.subscription}/{ws.resource_group}/{ws.name} ({ws.location}): {listed}")
    sys.stdout.flush()
    return EXIT_OK


@contextmanager
def embedded(db: Path | None = None, config: EmulatorConfig | None = None) -> Iterator[str]:
    """Run an emulator on 127.0.0.1 (ephemeral port) over `db` (default: the default database,
    seeded with demo data on first use) for the block; yields its origin."""
    store = open_store(db, "demo")
    app = EmulatorApp(store, config)
    try:
        with running_server(app) as server:
            yield server.origin
    finally:
        app.close()
        store.close()
