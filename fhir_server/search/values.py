"""Value semantics shared by indexing and querying: string normalisation, date/number ranges, UCUM units.

Both sides must use the same functions, otherwise a search can miss what indexing stored; this is why they
live here rather than in `extract.py` or `params.py`.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache

MIN_INSTANT = -(2**62)  # same open ends as fhir_server.storage.tables (search must not import storage)
MAX_INSTANT = 2**62
UCUM = "http://unitsofmeasure.org"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DATE_RE = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?"
    r"(Z|[+-]\d{2}:\d{2})?)?)?)?"
)


@lru_cache(maxsize=65536)
def normalize_string(value: str) -> str:
    """Lower case with accents removed, as FHIR's string search is case- and accent-insensitive."""
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _tz(text: str | None) -> timedelta:
    if text is None or text == "Z":
        return timedelta(0)
    sign = -1 if text[0] == "-" else 1
    return sign * timedelta(hours=int(text[1:3]), minutes=int(text[4:6]))


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    total = year * 12 + (month - 1) + months
    return total // 12, total % 12 + 1


@lru_cache(maxsize=65536)
def date_range(text: str) -> tuple[int, int] | None:
    """The [low, high] (inclusive, microseconds UTC) a date/dateTime/instant covers at its precision.

    `2020` is the whole year, `2020-03` all of March, `2020-03-01T10:00Z` that whole minute. Values without
    a time zone are taken as UTC (FHIR requires a zone whenever a time is given). None when unparseable.
    """
    match = _DATE_RE.fullmatch(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        if month is None:
            start = datetime(int(year), 1, 1, tzinfo=UTC)
            end = datetime(int(year) + 1, 1, 1, tzinfo=UTC) if int(year) < 9999 else None
        elif day is None:
            start = datetime(int(year), int(month), 1, tzinfo=UTC)
            ny, nm = _add_months(int(year), int(month), 1)
            end = datetime(ny, nm, 1, tzinfo=UTC) if ny <= 9999 else None
        elif hour is None:
            start = datetime(int(year), int(month), int(day), tzinfo=UTC)
            end = start + timedelta(days=1)
        else:
            start = datetime(
                int(year), int(month), int(day), int(hour), int(minute), int(second or 0), tzinfo=UTC
            ) - _tz(zone)
            if second is None:
                end = start + timedelta(minutes=1)
            elif fraction is None:
                end = start + timedelta(seconds=1)
            else:
                digits = min(len(fraction), 6)
                start += timedelta(microseconds=int(fraction[:6].ljust(6, "0")))
                end = start + timedelta(microseconds=10 ** (6 - digits))
    except (ValueError, OverflowError):
        return None
    return _micros(start), (_micros(end) - 1 if end is not None else MAX_INSTANT)


def decimal_range(value: object) -> tuple[float, float, float] | None:
    """(value, low, high) for a decimal with its implicit precision.

    `100` -> [99.5, 100.5), `1.5` -> [1.45, 1.55), `1e2` -> [50, 150).
    """
    if isinstance(value, bool):
        return None
    try:
        exact = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not exact.is_finite():
        return None
    exponent = exact.as_tuple().exponent
    half = Decimal(5) * Decimal(10) ** (int(exponent) - 1) if isinstance(exponent, int) else Decimal(0)
    return float(exact), float(exact - half), float(exact + half)


# UCUM unit -> (canonical code, factor to it). Factors are the UCUM definitions (ucum-essence.xml):
# min = 60 s, h = 60 min, d = 24 h, wk = 7 d, a = a_j = 365.25 d, mo = mo_j = a_j/12; [lb_av] = 7000 [gr],
# [gr] = 64.79891 mg, [oz_av] = [lb_av]/16; [in_i] = 2.54 cm, [ft_i] = 12 [in_i]; L = dm3.
_SECONDS = {
    "s": 1.0,
    "ms": 1e-3,
    "us": 1e-6,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "wk": 604800.0,
    "a": 31557600.0,
    "mo": 2629800.0,
}
_GRAMS = {
    "g": 1.0,
    "kg": 1e3,
    "mg": 1e-3,
    "ug": 1e-6,
    "ng": 1e-9,
    "[lb_av]": 453.59237,
    "[oz_av]": 28.349523125,
}
_METRES = {"m": 1.0, "km": 1e3, "cm": 1e-2, "mm": 1e-3, "um": 1e-6, "[in_i]": 0.0254, "[ft_i]": 0.3048}
_LITRES = {"L": 1.0, "l": 1.0, "dL": 0.1, "cL": 1e-2, "mL": 1e-3, "uL": 1e-6}
UCUM_CANONICAL: dict[str, tuple[str, float]] = {
    **{code: ("s", f) for code, f in _SECONDS.items()},
    **{code: ("g", f) for code, f in _GRAMS.items()},
    **{code: ("m", f) for code, f in _METRES.items()},
    **{code: ("L", f) for code, f in _LITRES.items()},
    # Rates per time unit, e.g. heart rate `/min`, become per second.
    **{f"/{code}": ("/s", 1.0 / f) for code, f in _SECONDS.items()},
}


_ANNOTATION = re.compile(r"\{[^}]*\}")


@lru_cache(maxsize=1024)
def _without_annotations(code: str) -> str:
    """UCUM annotations are unity, so `{beats}/min` is `/min` and matches a heart rate in `/min`.

    A unit that is only an annotation (`{steps}`, `{score}`) stays as it is: it is its own canonical unit, as
    indexed before annotations were understood, and a score should not match a step count anyway.
    """
    if "{" not in code:
        return code
    bare = _ANNOTATION.sub("", code)
    if bare in ("", "1"):
        return code
    return bare[1:] if bare.startswith("1/") else bare


def canonical_quantity(value: float, system: str | None, code: str | None) -> tuple[float, str] | None:
    """The value in its UCUM canonical unit; None when the unit is not UCUM.

    UCUM codes outside the conversion table are their own canonical unit, so a UCUM search can always use
    the canonical columns.
    """
    if system != UCUM or code is None:
        return None
    code = _without_annotations(code)
    entry = UCUM_CANONICAL.get(code)
    if entry is None:
        return value, code
    canonical_code, factor = entry
    return value * factor, canonical_code
