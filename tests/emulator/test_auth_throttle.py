"""Authentication (401, JWT refusal), the access log, and token-bucket throttling (429)."""

from __future__ import annotations

import json
from pathlib import Path

from amlctl.emulator import Bucket, EmulatorConfig
from amlctl.emulator.app import looks_like_real_token

from .conftest import ARM, ARM_V, HISTORY, MMS, MMS_V, WS_PATH, Emu, Factory, no_token_session

FAKE_JWT = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQifQ.c2ln"


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


def test_jwt_looking_tokens_are_refused_everywhere(emu: Emu) -> None:
    headers = {"Authorization": f"Bearer {FAKE_JWT}"}
    arm = emu.get(ARM, WS_PATH, ARM_V, headers=headers)
    assert arm.status_code == 401 and arm.json()["error"]["code"] == "RealTokenRejected"
    data = emu.get(HISTORY, "/history/v1.0" + WS_PATH + "/experiments", headers=headers)
    assert data.status_code == 401
    assert data.json()["error"]["innerError"]["code"] == "RealTokenRejected"
    assert looks_like_real_token(FAKE_JWT) and not looks_like_real_token("amlctl-emulator")


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
