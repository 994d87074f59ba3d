"""The times amlctl writes: RFC 3339 in UTC with a `Z`, to the second (plans, export index,
receipts) or to the millisecond (journal lines and the plan lock, where order within a second
shows).

An aware datetime is converted to UTC; a naive one is taken as local time, as
`datetime.astimezone` does.
"""

from __future__ import annotations

from datetime import UTC, datetime

_SECONDS = "%Y-%m-%dT%H:%M:%SZ"


def rfc3339(moment: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ` in UTC (fractions of a second dropped, not rounded)."""
    return moment.astimezone(UTC).strftime(_SECONDS)


def rfc3339_millis(moment: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SS.mmmZ` in UTC (microseconds dropped, not rounded)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
