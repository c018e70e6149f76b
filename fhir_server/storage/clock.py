"""FHIR instants <-> the integer microseconds we store."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now_us() -> int:
    return time.time_ns() // 1000


def to_instant(us: int) -> str:
    """Render as a FHIR `instant` (UTC, millisecond precision, `Z`)."""
    dt = datetime.fromtimestamp(us / 1_000_000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def to_http_date(us: int) -> str:
    dt = datetime.fromtimestamp(us / 1_000_000, tz=UTC)
    return dt.strftime("%a, %d %b %Y %H:%M:%S GMT")


def parse_instant(value: str) -> int:
    """A FHIR date/dateTime/instant as microseconds; partial dates start at their first instant.

    Raises ValueError with the offending text so callers can say which parameter was wrong.
    """
    text = value.strip().replace("Z", "+00:00")
    formats = ("%Y", "%Y-%m", "%Y-%m-%d")
    for fmt in formats:
        try:
            return int(datetime.strptime(text, fmt).replace(tzinfo=UTC).timestamp() * 1_000_000)
        except ValueError:
            continue
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1_000_000)


def parse_instant_end(value: str) -> int:
    """The last microsecond a FHIR date/dateTime covers: `2024-01-03` ends at 2024-01-03T23:59:59.999999Z."""
    text = value.strip()
    start = parse_instant(text)
    if len(text) == 4:
        nxt = datetime(int(text) + 1, 1, 1, tzinfo=UTC)
    elif len(text) == 7:
        year, month = int(text[:4]), int(text[5:7])
        nxt = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    elif len(text) == 10:
        return start + 86_400_000_000 - 1
    else:
        return start
    return int(nxt.timestamp() * 1_000_000) - 1
