"""`serve`, `info`, `embedded`, the default database path, and their usage errors."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from amlctl.emulator import EmulatorApp, Store, default_db_path
from amlctl.emulator.commands import embedded, info, serve
from amlctl.emulator.server import EmulatorServer
from amlctl.errors import UsageError

from .conftest import ARM, ARM_V, WS_PATH

SERVE = ("import sys; from pathlib import Path; from amlctl.emulator.commands import serve; "
         "raise SystemExit(serve('127.0.0.1', 0, Path(sys.argv[1]), 'demo', 0, 0.0, None, "
         "Path(sys.argv[2]), None, True))")


def test_serve_prints_its_origin_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    log = tmp_path / "access.jsonl"
    process = subprocess.Popen([sys.executable, "-c", SERVE, str(tmp_path / "db.sqlite3"),
                                str(log)], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("amlctl emulator listening on http://127.0.0.1:")
        origin = line.rsplit(" ", 1)[1]
        response = requests.get(f"{origin}/{ARM}{WS_PATH}", params=ARM_V, timeout=5,
                                headers={"Authorization": "Bearer amlctl-emulator"})
        assert response.status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()
    assert len(log.read_text().splitlines()) == 1


def test_info_prints_workspaces_and_counts(tmp_path: Path, capsys: pytest.CaptureFixture[
        str]) -> None:
    assert info(None, "json") == 0  # the (private, per-test) default database, seeded on use
    rows = json.loads(capsys.readouterr().out)
    assert [(r["workspace"], r["location"]) for r in rows] == [("demo-ws", "eastus"),
                                                               ("demo-ws-eu", "westeurope")]
    assert rows[0]["resourceGroup"] == "demo-rg" and rows[0]["counts"]["run"] == 7
    assert set(rows[0]) == {"subscriptionId", "resourceGroup", "workspace", "location",
                            "counts"}
    assert info(default_db_path(), "table") == 0
    assert "demo-ws-eu (westeurope)" in capsys.readouterr().out
    with pytest.raises(UsageError):
        info(tmp_path / "missing.sqlite3", "json")
    with pytest.raises(UsageError):
        info(None, "yaml")


def test_default_db_path_follows_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    monkeypatch.setenv("AMLCTL_EMULATOR_DB", str(tmp_path / "x.db"))
    assert default_db_path() == tmp_path / "x.db"
    monkeypatch.delenv("AMLCTL_EMULATOR_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_db_path() == tmp_path / "data" / "amlctl" / "emulator.sqlite3"


def test_embedded_serves_the_default_database() -> None:
    with embedded() as origin:
        assert origin.startswith("http://127.0.0.1:")
        response = requests.get(f"{origin}/{ARM}{WS_PATH}", params=ARM_V, timeout=5,
                                headers={"Authorization": "Bearer amlctl-emulator"})
        assert response.status_code == 200
    assert default_db_path().exists()


@pytest.mark.parametrize("kwargs,message", [
    ({"seed": "scale:nope"}, "seed"),
    ({"latency_ms": -5}, "latency"),
    ({"fault_rate": 1.5}, "fault rate"),
    ({"host": "0.0.0.0"}, "loopback"),
    ({"page_size": 0}, "page size"),
])
def test_serve_rejects_bad_values(tmp_path: Path, kwargs: dict[str, object],
                                  message: str) -> None:
    args: dict[str, object] = {
        "host": "127.0.0.1", "port": 0, "db": tmp_path / "db.sqlite3", "seed": "demo",
        "latency_ms": 0, "fault_rate": 0.0, "fault_seed": None, "access_log": None,
        "page_size": None, "throttle": True, **kwargs}
    with pytest.raises(UsageError, match=message):
        serve(**args)  # type: ignore[arg-type]
    assert not (tmp_path / "db.sqlite3").exists()


def test_a_port_in_use_is_a_usage_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        app = EmulatorApp(Store(":memory:"))
        with pytest.raises(UsageError, match="cannot listen"):
            EmulatorServer(app, "127.0.0.1", taken.getsockname()[1])


def test_many_connections_at_once_are_queued_not_dropped() -> None:
    # Not started, so nothing accepts: every connection must fit in the listen queue. With
    # socketserver's backlog of 5 the seventh SYN is dropped and waits for TCP's 1 s retry.
    server = EmulatorServer(EmulatorApp(Store(":memory:")), "127.0.0.1", 0)
    sockets: list[socket.socket] = []
    try:
        for _ in range(32):
            sockets.append(socket.create_connection(("127.0.0.1", server.port), timeout=0.5))
        assert len(sockets) == 32
    finally:
        for sock in sockets:
            sock.close()
        server.close()
