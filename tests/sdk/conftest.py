"""One https emulator per SDK test module (SDK imports and their clients are slow to set up),
and what it saw: every call an SDK made, from the access log.

The server is `serve --tls`'s own code (EmulatorServer with the certificate from tls.py) in a
background thread, on 127.0.0.1 like every test (tests/conftest.py refuses other addresses).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from amlctl.emulator import EmulatorApp, EmulatorConfig, Store, open_store
from amlctl.emulator.server import running_server
from amlctl.emulator.tls import certificate_path, ensure_certificate, server_context


@dataclass(frozen=True)
class TlsEmulator:
    origin: str  # https://127.0.0.1:PORT
    pem: Path  # the certificate clients trust
    store: Store
    log: Path

    def calls(self) -> list[tuple[str, str, int | None]]:
        """(method, routed path without its query, status) of every request so far."""
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        entries = [json.loads(line) for line in lines]
        return [(e["method"], e["path"].split("?", 1)[0], e["status"]) for e in entries]


def tls_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsEmulator]:
    """A demo-seeded emulator over https for a module; use it from a module-scoped fixture."""
    folder = tmp_path_factory.mktemp("sdk")
    db = folder / "emulator.sqlite3"
    pem = ensure_certificate(certificate_path(db))
    store = open_store(db, "demo")
    app = EmulatorApp(store, EmulatorConfig(access_log=folder / "access.jsonl", throttle=False))
    try:
        with running_server(app, tls=server_context(pem)) as server:
            yield TlsEmulator(server.origin, pem, store, folder / "access.jsonl")
    finally:
        app.close()
        store.close()
