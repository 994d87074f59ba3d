from __future__ import annotations

import base64
import json
import logging
import time
from dataclasses import dataclass

import pytest

from amlctl.azure import connect
from amlctl.azure.auth import ARM_SCOPE, AzureToken, StaticToken
from amlctl.azure.target import Connection
from amlctl.catalog import load_catalog
from amlctl.emulator import tokens
from amlctl.errors import AuthError


@dataclass
class AccessToken:
    token: str
    expires_on: int


def _jwt(claims: dict[str, str]) -> str:
    def part(data: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part(claims)}.sig"


class CountingCredential:
    """A credential with azure-identity's get_token shape, handing out short-lived tokens."""

    def __init__(self, lifetime: int) -> None:
        self.lifetime, self.scopes = lifetime, []  # type: ignore[var-annotated]

    def get_token(self, *scopes: str) -> AccessToken:
        self.scopes.append(scopes)
        value = _jwt({"oid": "11111111-2222-3333-4444-555555555555", "n": str(len(self.scopes))})
        return AccessToken(value, int(time.time()) + self.lifetime)


def test_token_is_cached_until_close_to_expiry_and_uses_the_arm_scope() -> None:
    long_lived = CountingCredential(lifetime=3600)
    tokens = AzureToken(long_lived)
    assert tokens.token() == tokens.token()
    assert long_lived.scopes == [(ARM_SCOPE,)]
    short_lived = CountingCredential(lifetime=60)  # inside the 300 s refresh margin
    tokens = AzureToken(short_lived)
    assert tokens.token() != tokens.token()


def test_identity_is_the_object_id_and_reprs_never_show_a_token() -> None:
    tokens = AzureToken(CountingCredential(lifetime=3600))
    assert tokens.identity() == "11111111-2222-3333-4444-555555555555"
    assert "eyJ" not in repr(tokens) and "redacted" in repr(tokens)
    assert "amlctl-emulator" not in repr(StaticToken())


def test_a_missing_credential_says_how_to_sign_in() -> None:
    class Broken:
        def get_token(self, *scopes: str) -> AccessToken:
            raise RuntimeError("no credential in this environment")

    with pytest.raises(AuthError, match="az login"):
        AzureToken(Broken()).token()


def test_no_credential_is_one_short_message_asked_once(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AMLCTL_AUTH_DEBUG", raising=False)

    class Noisy:
        """Like DefaultAzureCredential: logs every credential it tried, then raises."""

        calls = 0

        def get_token(self, *scopes: str) -> AccessToken:
            Noisy.calls += 1
            logger = logging.getLogger("azure.identity")
            for attempt in ("EnvironmentCredential", "ManagedIdentityCredential", "AzureCli"):
                logger.warning("%s: authentication unavailable", attempt)
            raise RuntimeError("DefaultAzureCredential failed to retrieve a token")

    tokens = AzureToken(Noisy())
    with caplog.at_level(logging.DEBUG):
        for _ in range(3):  # three workers asking
            with pytest.raises(AuthError, match="no Azure credential") as caught:
                tokens.token()
    assert Noisy.calls == 1
    assert "\n" not in str(caught.value)
    assert [r for r in caplog.records if r.name.startswith("azure.identity")] == []
    assert logging.getLogger("azure.identity").level == logging.NOTSET  # restored


def test_emulator_targets_get_the_static_token_and_azure_never_does(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """No real token ever goes to an emulator (no credential is even asked for), and the
    emulator's token never goes to Azure."""
    class NoCredential(AzureToken):
        def _refresh(self) -> None:
            raise AssertionError("a real credential was asked for")

    monkeypatch.setattr(connect, "AzureToken", NoCredential)
    monkeypatch.delenv(connect.ENDPOINT_ENV, raising=False)
    catalog = load_catalog()
    for connection in (Connection(endpoint="https://127.0.0.1:8765"), Connection(emulator=True)):
        with connect.open_client(catalog, connection) as client:
            assert isinstance(client.tokens, StaticToken)
            assert tokens.judge(client.tokens.token()) is None  # the emulator takes it
    with connect.open_client(catalog, Connection()) as client:
        assert client.target.kind == "azure" and isinstance(client.tokens, NoCredential)
