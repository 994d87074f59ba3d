"""Bearer tokens: one ARM-audience token for every catalog host, or the emulator's fixed token.

A real token must never reach an emulator, and the emulator's token must never reach Azure: the
token provider is chosen together with the target and cannot be mixed.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from amlctl.errors import AuthError

# The article's audience, https://management.core.windows.net/, as an azure-identity scope.
ARM_SCOPE = "https://management.core.windows.net//.default"
EMULATOR_TOKEN = "amlctl-emulator"
REFRESH_MARGIN = 300  # seconds before expiry, as azure-core does


class TokenProvider(Protocol):
    """Something that hands out a bearer token for the ARM audience."""

    def token(self) -> str: ...

    def identity(self) -> str:
        """Who acts, for receipts: the token's object id (never the token)."""
        ...


class StaticToken:
    """A fixed token: the emulator's."""

    def __init__(self, value: str = EMULATOR_TOKEN) -> None:
        self._value = value

    def token(self) -> str:
        return self._value

    def identity(self) -> str:
        return "emulator"

    def __repr__(self) -> str:
        return "StaticToken(<redacted>)"


class AzureToken:
    """DefaultAzureCredential behind a cache that refreshes before expiry (a long apply outlives
    one token). Thread-safe: workers share one token."""

    def __init__(self, credential: Any = None) -> None:
        self._credential = credential
        self._lock = threading.Lock()
        self._value: str | None = None
        self._expires_on = 0.0
        self._failure: AuthError | None = None  # no credential: every worker hears it once

    def token(self) -> str:
        with self._lock:
            if self._failure is not None:
                raise self._failure
            if self._value is None or time.time() > self._expires_on - REFRESH_MARGIN:
                self._refresh()
            assert self._value is not None
            return self._value

    def identity(self) -> str:
        """The signed-in principal's object id, read from the token's claims (not verified:
        it is only recorded, never trusted for a decision)."""
        return str(_claims(self.token()).get("oid", "unknown"))

    def _refresh(self) -> None:
        try:
            with _quiet("azure.identity"):
                if self._credential is None:
                    from azure.identity import DefaultAzureCredential

                    self._credential = DefaultAzureCredential()
                access = self._credential.get_token(ARM_SCOPE)
        except Exception as error:  # azure-identity raises its own tree; say what to do
            self._failure = AuthError(
                "no Azure credential: sign in with `az login`, or set AZURE_CLIENT_ID/"
                "AZURE_TENANT_ID/AZURE_CLIENT_SECRET, or rehearse with --emulator "
                f"({type(error).__name__}; AMLCTL_AUTH_DEBUG=1 shows what azure-identity tried)"
            )
            raise self._failure from None
        self._value, self._expires_on = access.token, float(access.expires_on)

    def __repr__(self) -> str:
        return "AzureToken(<redacted>)"


@contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """azure-identity logs every credential it tried, at WARNING, for each attempt (dozens of
    lines before our one-line error). Silence it unless the user set its level or asked."""
    logger = logging.getLogger(logger_name)
    if logger.level != logging.NOTSET or os.environ.get("AMLCTL_AUTH_DEBUG"):
        yield
        return
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(logging.NOTSET)


def _claims(token: str) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, TypeError):
        return {}
    return claims if isinstance(claims, dict) else {}
