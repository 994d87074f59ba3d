"""Shared test fixtures. Tests never reach the network: only loopback sockets are allowed."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else address
    if self.family in (socket.AF_INET, socket.AF_INET6):
        try:
            allowed = ipaddress.ip_address(host).is_loopback
        except ValueError:
            allowed = host == "localhost"
        if not allowed:
            raise OSError(f"test tried to reach {host!r}: tests talk to loopback only")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Refuse any connection that is not to this machine (the emulator runs on loopback)."""
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)
    yield


@pytest.fixture(autouse=True)
def _private_emulator_db(tmp_path_factory: pytest.TempPathFactory,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Never let a test touch the user's default emulator database."""
    monkeypatch.setenv("AMLCTL_EMULATOR_DB", str(tmp_path_factory.mktemp("db") / "emulator.db"))


TEST_PSEUDONYM_KEY = Path(__file__).parent / "data" / "pseudonym-test.key"


@pytest.fixture(autouse=True)
def _private_user_state(tmp_path_factory: pytest.TempPathFactory,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the user's state folder; pseudonyms under a fixed test key, so goldens and
    the committed example plans do not depend on a random key (real users' keys are random,
    and kept out of every repository: amlctl.userstate)."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
    monkeypatch.setenv("AMLCTL_PSEUDONYM_KEY_FILE", str(TEST_PSEUDONYM_KEY))
