"""Which bearer tokens the emulator accepts, judged by who issued them and for whom, and the
emulator's own JWT.

Microsoft's SDKs read a token's expiry from its claims, so they need a JWT, not the fixed
`amlctl-emulator` string amlctl sends. The rule is therefore about the claims, not the shape:

- a JWT issued by an Azure AD tenant (`iss` on login.microsoftonline.com, sts.windows.net,
  login.windows.net or a sovereign cloud's login host) or meant for an Azure service (`aud`
  ARM, `management.core.windows.net`, `ml.azure.com`, ... or ARM's application id) is a real
  credential: refused (401 `RealTokenRejected`), so a token that leaked here is never used;
- a JWT the emulator issued (`iss` = `ISSUER`, signed HS256 with the fixed, published
  `SIGNING_KEY`, see `emulator_token`) is accepted until its `exp`;
- any other JWT (another issuer, unreadable claims, a bad signature) is refused: the emulator
  cannot tell whose it is, so it does not guess;
- a token that is not a JWT carries no claims, and no Azure AD access token is opaque: accepted
  (amlctl sends the fixed `STATIC_TOKEN`).

The signing key is not a secret and proves nothing but that the token was made for the
emulator; it exists so that SDKs and JWT libraries that insist on a signed token get one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

ISSUER = "https://amlctl-emulator.invalid/"  # `.invalid` is never a real host (RFC 2606)
AUDIENCE = "https://amlctl-emulator.invalid/"
SIGNING_KEY = b"amlctl-emulator: a published key, not a secret"
STATIC_TOKEN = "amlctl-emulator"
EMULATOR_OBJECT_ID = "00000000-0000-4000-8000-0000000e0001"  # who the emulator's token is
EMULATOR_TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"  # the demo seed's tenant
DEFAULT_LIFETIME = 3600

# Azure AD issuers (public and sovereign clouds) and Azure audiences, by host
_AZURE_ISSUER_HOSTS = frozenset({
    "login.microsoftonline.com", "sts.windows.net", "login.windows.net",
    "login.microsoftonline.us", "login.microsoftonline.de", "login.chinacloudapi.cn",
    "login.partner.microsoftonline.cn", "sts.chinacloudapi.cn",
})
_AZURE_AUDIENCE_HOSTS = frozenset({
    "management.azure.com", "management.core.windows.net", "ml.azure.com",
    "management.usgovcloudapi.net", "management.core.usgovcloudapi.net", "ml.azure.us",
    "management.chinacloudapi.cn", "management.core.chinacloudapi.cn", "ml.azure.cn",
    "management.microsoftazure.de", "management.core.cloudapi.de",
})
_AZURE_AUDIENCE_IDS = frozenset({"797f4846-ba00-4fd7-ba43-dac1f8f63013"})  # ARM's app id


@dataclass(frozen=True)
class Refusal:
    """Why a token is refused: an ARM-style code and a message that never quotes the token."""

    code: str
    message: str


def emulator_token(*, lifetime: int = DEFAULT_LIFETIME, now: float | None = None,
                   object_id: str = EMULATOR_OBJECT_ID, tenant_id: str = EMULATOR_TENANT_ID,
                   name: str = "amlctl emulator") -> str:
    """A JWT the emulator accepts: issued by `ISSUER` for `AUDIENCE`, valid `lifetime` seconds
    from `now`, with the `oid`/`tid`/`name` claims SDKs read for who is signed in."""
    issued = int(time.time() if now is None else now)
    claims = {"iss": ISSUER, "aud": AUDIENCE, "iat": issued, "nbf": issued,
              "exp": issued + lifetime, "oid": object_id, "sub": object_id, "tid": tenant_id,
              "name": name}
    signing_input = _part({"alg": "HS256", "typ": "JWT"}) + "." + _part(claims)
    return signing_input + "." + _signature(signing_input)


def judge(token: str, now: float | None = None) -> Refusal | None:
    """None if the emulator accepts `token`, else why not (see the module's rules)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None  # opaque: no claims, and not an Azure AD access token
    header, claims = _decode(parts[0]), _decode(parts[1])
    if header is None or claims is None:
        return Refusal("InvalidAuthenticationToken",
                       "The token looks like a JWT but its claims cannot be read; the emulator "
                       "refuses what it cannot tell from a real token.")
    real = _azure_claim(claims)
    if real is not None:
        return Refusal("RealTokenRejected",
                       f"The emulator refuses tokens {real}: a real Azure credential must never "
                       "be sent here. Send the emulator's token (amlctl-emulator, or a JWT from "
                       "amlctl.emulator.tokens.emulator_token()).")
    if claims.get("iss") != ISSUER:
        return Refusal("InvalidAuthenticationToken",
                       f"The token was not issued by the emulator (its iss is not {ISSUER}).")
    return _check_ours(parts, header, claims, time.time() if now is None else now)


def _check_ours(parts: list[str], header: dict[str, Any], claims: dict[str, Any],
                now: float) -> Refusal | None:
    if header.get("alg") != "HS256" or not hmac.compare_digest(
            parts[2], _signature(parts[0] + "." + parts[1])):
        return Refusal("InvalidAuthenticationToken",
                       "The emulator's tokens are signed HS256 with its published key; this "
                       "one's signature does not match.")
    expires, not_before = claims.get("exp"), claims.get("nbf")
    if isinstance(expires, int | float) and now >= expires:
        return Refusal("ExpiredAuthenticationToken",
                       "The access token expiry UTC time is earlier than the current UTC time.")
    if isinstance(not_before, int | float) and now < not_before - 300:  # 5 min of clock skew
        return Refusal("InvalidAuthenticationToken", "The access token is not valid yet.")
    return None


def _azure_claim(claims: dict[str, Any]) -> str | None:
    """What makes the claims an Azure AD token's (for the message), or None."""
    issuer = urlsplit(str(claims.get("iss") or "")).hostname or ""
    if issuer in _AZURE_ISSUER_HOSTS:
        return f"issued by Azure AD ({issuer})"
    audiences = claims.get("aud")
    for audience in audiences if isinstance(audiences, list) else [audiences]:
        text = str(audience or "")
        host = urlsplit(text).hostname or ""
        if host in _AZURE_AUDIENCE_HOSTS or text.lower() in _AZURE_AUDIENCE_IDS:
            return f"for an Azure audience ({host or text})"
    return None


def _part(value: dict[str, Any]) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _signature(signing_input: str) -> str:
    digest = hmac.new(SIGNING_KEY, signing_input.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _decode(part: str) -> dict[str, Any] | None:
    try:
        value = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, TypeError):
        return None
    return value if isinstance(value, dict) else None
