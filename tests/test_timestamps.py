"""timestamps: RFC 3339 UTC to the second and to the millisecond, truncated, never rounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from amlctl.timestamps import rfc3339, rfc3339_millis

LATE = datetime(2026, 11, 22, 6, 30, 15, 999_999, tzinfo=timezone(timedelta(hours=1)))


def test_seconds_in_utc() -> None:
    assert rfc3339(LATE) == "2026-11-22T05:30:15Z"
    assert rfc3339(datetime(2024, 5, 1, 12, 0, tzinfo=UTC)) == "2024-05-01T12:00:00Z"


def test_milliseconds_in_utc() -> None:
    assert rfc3339_millis(LATE) == "2026-11-22T05:30:15.999Z"
    assert rfc3339_millis(datetime(2024, 5, 1, 12, 0, tzinfo=UTC)) == "2024-05-01T12:00:00.000Z"
