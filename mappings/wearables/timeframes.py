"""Date-time parsing shared by the vendor parsers: strict, because a wrong time is a wrong observation."""

from __future__ import annotations

from datetime import datetime, timedelta


class TimeFormatError(ValueError):
    """A time value the export should not contain (no offset, not ISO 8601, end before start)."""


def parse_instant(text: object, what: str) -> datetime:
    """An ISO 8601 date-time that states its UTC offset (FHIR requires one whenever a time is given)."""
    if not isinstance(text, str):
        raise TimeFormatError(f"{what} is not a date-time string")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise TimeFormatError(f"{what} {text!r} is not an ISO 8601 date-time") from exc
    if parsed.tzinfo is None:
        raise TimeFormatError(f"{what} {text!r} has no UTC offset")
    return parsed


def fhir_datetime(value: datetime) -> str:
    return value.isoformat()


def check_order(start: datetime, end: datetime) -> None:
    if end < start:
        raise TimeFormatError(f"the period ends ({end.isoformat()}) before it starts ({start.isoformat()})")


def minutes_between(start: datetime, end: datetime) -> float:
    return (end - start) / timedelta(minutes=1)
