"""Dates and date-times of a legacy payload: ISO 8601, with an offset or an explicit zone, never a guess.

A date-time without a UTC offset is ambiguous by hours, which moves a night's sleep or a heart rate to the
wrong day of the twin's grid. So it is refused unless the user names the zone the client wrote it in
(`novamind import legacy … --timezone Europe/Berlin`); the CLI passes `NO_TIMEZONE` when they did not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from mappings.legacy.errors import LegacyEntryError


class _NoTimezone(tzinfo):
    """A marker, never attached to a datetime: "no --timezone was given, refuse times without an offset"."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        return None

    def __repr__(self) -> str:
        return "NO_TIMEZONE"


NO_TIMEZONE: tzinfo = _NoTimezone()


@dataclass(frozen=True, slots=True)
class When:
    """A FHIR date or dateTime string, and whether it is a whole day (a date) rather than an instant."""

    text: str
    is_date: bool


def parse_when(value: object, field: str, zone: tzinfo) -> When:
    """`value` as a FHIR date (`2024-05-01`) or dateTime with offset; naive times take `zone` unless NO_TIMEZONE."""
    if not isinstance(value, str):
        raise LegacyEntryError(f"{field} {value!r} is not an ISO 8601 date or date-time string")
    text = value.strip()
    if "T" not in text and " " not in text:
        try:
            return When(date.fromisoformat(text).isoformat(), True)
        except ValueError as exc:
            raise LegacyEntryError(f"{field} {value!r} is not an ISO 8601 date or date-time") from exc
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise LegacyEntryError(f"{field} {value!r} is not an ISO 8601 date or date-time") from exc
    if parsed.tzinfo is None:
        if zone is NO_TIMEZONE:
            raise LegacyEntryError(
                f"{field} {value!r} has no UTC offset: add one (e.g. 'Z' or '+02:00') or name the zone it was "
                "written in with --timezone"
            )
        parsed = parsed.replace(tzinfo=zone)
    return When(parsed.isoformat(), False)
