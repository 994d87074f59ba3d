"""Authentication (401; tokens judged by issuer and audience), the access log, and token-bucket
throttling (429)."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest

from amlctl.azure.auth import EMULATOR_TOKEN
from amlctl.emulator import Bucket, EmulatorConfig, tokens

from .conftest import ARM, ARM_V, HISTORY, MMS, MMS_V, WS_PATH, Emu, Factory, no_token_session


def jwt(claims: dict[str, Any], alg: str = "RS256", signature: str = "c2ln") -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'typ': 'JWT', 'alg': alg})}.{part(claims)}.{signature}"


TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
FAKE_JWT = jwt({"aud": "https://management.core.windows.net/",
                "iss": f"https://sts.windows.net/{TENANT}/", "exp": 4102444800})


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_arm_without_a_token_is_401(emu: Emu) -> None:
    response = no_token_session().get(emu.url(ARM, WS_PATH), params=ARM_V, timeout=5)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AuthenticationFailed"
    assert response.headers["x-ms-request-id"]


def test_data_plane_without_a_token_gives_the_real_body(emu: Emu) -> None:
    response = no_token_session().get(emu.url(HISTORY, "/history/v1.0" + WS_PATH
                                              + "/experiments"), timeout=5)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["message"] == "Bearer token not provided."
    assert error["innerError"]["code"] == "AuthorizationError"


def test_a_non_bearer_scheme_is_401(emu: Emu) -> None:
    response = emu.get(MMS, "/api" + WS_PATH + "/models", MMS_V,
                       headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert response.status_code == 401


def test_azure_tokens_are_refused_everywhere(emu: Emu) -> None:
    headers = {"Authorization": f"Bearer {FAKE_JWT}"}
    arm = emu.get(ARM, WS_PATH, ARM_V, headers=headers)
    assert arm.status_code == 401 and arm.json()["error"]["code"] == "RealTokenRejected"
    data = emu.get(HISTORY, "/history/v1.0" + WS_PATH + "/experiments", headers=headers)
    assert data.status_code == 401
    assert data.json()["error"]["innerError"]["code"] == "RealTokenRejected"
    public = emu.get(HISTORY, "/discovery", headers=headers)  # even where none is needed
    assert public.status_code == 401
    assert FAKE_JWT not in arm.text + data.text  # refusals never quote the token


@pytest.mark.parametrize("claims", [
    {"iss": f"https://login.microsoftonline.com/{TENANT}/v2.0", "aud": "api://something"},
    {"iss": f"https://login.windows.net/{TENANT}/"},
    {"iss": "https://login.microsoftonline.us/x/", "aud": "https://management.usgovcloudapi.net"},
    {"iss": tokens.ISSUER, "aud": "https://management.azure.com/"},  # ours in name only
    {"iss": tokens.ISSUER, "aud": ["https://ml.azure.com", tokens.AUDIENCE]},
    {"aud": "797f4846-ba00-4fd7-ba43-dac1f8f63013"},  # ARM's application id
])
def test_tokens_are_refused_by_issuer_or_audience(claims: dict[str, Any]) -> None:
    refusal = tokens.judge(jwt(claims))
    assert refusal is not None and refusal.code == "RealTokenRejected"


def test_the_emulator_accepts_its_own_jwt_and_the_static_token(emu: Emu) -> None:
    token = tokens.emulator_token()
    for host, path, query in ((ARM, WS_PATH, ARM_V), (MMS, "/api" + WS_PATH + "/models", MMS_V),
                              (HISTORY, "/history/v1.0" + WS_PATH + "/experiments", None)):
        response = emu.get(host, path, query, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
    assert tokens.judge(tokens.STATIC_TOKEN) is None and tokens.STATIC_TOKEN == EMULATOR_TOKEN
    parts = [json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
             for p in token.split(".")[:2]]
    assert parts[0] == {"alg": "HS256", "typ": "JWT"}
    assert parts[1]["iss"] == tokens.ISSUER and parts[1]["exp"] - parts[1]["iat"] == 3600
    assert {"oid", "tid", "name", "nbf", "aud"} <= set(parts[1])


def test_other_jwts_are_refused_not_guessed() -> None:
    now = time.time()
    ours = tokens.emulator_token(now=now)
    expired = tokens.judge(tokens.emulator_token(now=now - 7200), now=now)
    assert expired is not None and expired.code == "ExpiredAuthenticationToken"
    forged = ours.rsplit(".", 1)[0] + ".c2ln"
    unsigned = jwt({"iss": tokens.ISSUER}, alg="none", signature="")
    for token in (forged, unsigned, jwt({"iss": "https://idp.example/"}), "a.b.c", "x.e30.y"):
        refusal = tokens.judge(token, now=now)
        assert refusal is not None and refusal.code == "InvalidAuthenticationToken", token
    assert tokens.judge(ours, now=now) is None
    assert tokens.judge("opaque-token-123") is None  # no claims; not an Azure AD token


def test_tokens_never_reach_the_access_log(make_emu: Factory, tmp_path: Path) -> None:
    log = tmp_path / "access.jsonl"
    emu = make_emu(EmulatorConfig(access_log=log))
    emu.get(ARM, WS_PATH, ARM_V)
    emu.get(ARM, WS_PATH, ARM_V, headers={"Authorization": f"Bearer {FAKE_JWT}"})
    no_token_session().get(emu.url(ARM, WS_PATH), params=ARM_V, timeout=5)
    emu.get(HISTORY, "/history/v1.0" + WS_PATH + "/experiments",
            headers={"Authorization": "Bearer secret-looking-token-123"})
    text = log.read_text()
    for secret in ("amlctl-emulator", "eyJ", "secret-looking-token-123", "Bearer"):
        assert secret not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert [line["status"] for line in lines] == [200, 401, 401, 200]
    assert all(set(line) >= {"time", "method", "path", "status", "requestId"} for line in lines)
    assert lines[0]["path"].startswith(f"/{ARM}{WS_PATH}?api-version=")


def test_arm_reads_are_throttled_with_retry_after(make_emu: Factory) -> None:
    clock = FakeClock()
    emu = make_emu(EmulatorConfig(arm_reads=Bucket(3, 1.0)), clock=clock)
    remaining = [emu.get(ARM, WS_PATH, ARM_V).headers[
        "x-ms-ratelimit-remaining-subscription-reads"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    throttled = emu.get(ARM, WS_PATH, ARM_V)
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) >= 1
    assert throttled.json()["error"]["code"] == "TooManyRequests"
    deletes = emu.delete(ARM, WS_PATH + "-missing", ARM_V)  # a separate bucket
    assert deletes.status_code == 204
    assert "x-ms-ratelimit-remaining-subscription-deletes" in deletes.headers
    clock.now += 1.0
    assert emu.get(ARM, WS_PATH, ARM_V).status_code == 200


def test_retry_after_reflects_the_refill_rate(make_emu: Factory) -> None:
    emu = make_emu(EmulatorConfig(arm_deletes=Bucket(1, 0.25)), clock=FakeClock())
    assert emu.delete(ARM, WS_PATH + "-x", ARM_V).status_code == 204
    throttled = emu.delete(ARM, WS_PATH + "-x", ARM_V)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "4"


def test_throttling_can_be_switched_off(make_emu: Factory) -> None:
    emu = make_emu(EmulatorConfig(throttle=False, arm_reads=Bucket(1, 0.0)))
    assert all(emu.get(ARM, WS_PATH, ARM_V).status_code == 200 for _ in range(5))


def test_optional_data_plane_throttling(make_emu: Factory) -> None:
    emu = make_emu(EmulatorConfig(dataplane=Bucket(1, 0.5)), clock=FakeClock())
    path = "/history/v1.0" + WS_PATH + "/experiments"
    assert emu.get(HISTORY, path).status_code == 200
    throttled = emu.get(HISTORY, path)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "2"
    assert throttled.json()["error"]["code"] == "RequestThrottled"
    mms = emu.get(MMS, "/api" + WS_PATH + "/models", MMS_V)
    assert mms.status_code == 429 and mms.json()["code"] == "RequestThrottled"
