"""`biometric_data` series -> Readings: the biometric types we know, the unit of their values and their timing.

| type | measure (mappings/wearables/data/measures.csv) | value | a date means |
| --- | --- | --- | --- |
| `heart_rate` | heart-rate (LOINC) | beats per minute, > 0 | refused: a heart rate is momentary |
| `resting_heart_rate` | resting-heart-rate (LOINC) | beats per minute, > 0 | that day's resting rate |
| `hrv`, `hrv_sdnn` | hrv-sdnn (LOINC) | milliseconds, >= 0 | that day's (night's) value |
| `hrv_rmssd` | hrv-rmssd (local code) | milliseconds, >= 0 | that day's (night's) value |
| `steps` | steps (LOINC, a sample); with a date steps-daily (LOINC) | whole steps, >= 0 | that day's total |
| `sleep_duration` | sleep-duration (local code, stored in min) | hours, 0–24 | the night that began that day |
| `weight` | body-weight (LOINC) | kilograms, > 0 | that day's weight |
| `calories` | calories (LOINC) | kilocalories burned, >= 0 | that day's total |

A date-time becomes `effectiveDateTime`; a date becomes the one-day `effectivePeriod` date..date, as Fitbit's
daily values do. Assumption: an unqualified `hrv` is SDNN, the statistic Apple Health (the usual source of the
old clients' HRV) reports; a client sending RMSSD must use `hrv_rmssd`. The twin's frames read RMSSD only, so
SDNN is stored for clinicians but not fed to the models (see `mappings.frames`). Sleep arrives in hours (the
twin's own unit) and is stored in minutes, the measure table's unit for sleep duration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import tzinfo

from mappings.legacy.errors import LegacyEntryError
from mappings.legacy.fields import check_fields
from mappings.legacy.times import parse_when
from mappings.wearables.measures import measure
from mappings.wearables.reading import DeviceInfo, Quantity, Reading

FIELDS = ("timestamp", "value")


@dataclass(frozen=True, slots=True)
class Series:
    measure: str  # for a date-time
    daily_measure: str | None  # for a date; None: a date is refused (the reason says why)
    unit_text: str  # the unit of `value`, as reasons name it
    factor: float = 1.0  # value * factor is in the measure's unit
    positive: bool = False  # zero is impossible (a heart rate, a weight)
    high: float | None = None  # the largest possible value, in the payload's unit
    whole: bool = False  # a count
    no_date: str = ""  # why a date is refused


SERIES: dict[str, Series] = {
    "heart_rate": Series(
        "heart-rate",
        None,
        "beats per minute",
        positive=True,
        no_date="a heart rate is momentary and needs a date-time; a day's value is resting_heart_rate",
    ),
    "resting_heart_rate": Series("resting-heart-rate", "resting-heart-rate", "beats per minute", positive=True),
    "hrv": Series("hrv-sdnn", "hrv-sdnn", "milliseconds (SDNN)"),
    "hrv_sdnn": Series("hrv-sdnn", "hrv-sdnn", "milliseconds"),
    "hrv_rmssd": Series("hrv-rmssd", "hrv-rmssd", "milliseconds"),
    "steps": Series("steps", "steps-daily", "steps", whole=True),
    "sleep_duration": Series("sleep-duration", "sleep-duration", "hours", factor=60.0, high=24.0),
    "weight": Series("body-weight", "body-weight", "kilograms", positive=True),
    "calories": Series("calories", "calories", "kilocalories"),
}


def unknown_type(key: str) -> str:
    return f"unknown biometric type {key!r}; the known types are {', '.join(SERIES)}"


def _value(raw: object, key: str, series: Series) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise LegacyEntryError(f"value {raw!r} is not a number ({key} is in {series.unit_text})")
    value = float(raw)
    if value < 0 or (series.positive and value == 0):
        raise LegacyEntryError(f"value {raw!r} is impossible for {key} ({series.unit_text})")
    if series.high is not None and value > series.high:
        raise LegacyEntryError(f"value {raw!r} is over {series.high:g} {series.unit_text}, impossible for {key}")
    if series.whole and not value.is_integer():
        raise LegacyEntryError(f"value {raw!r} is not a whole number of {series.unit_text}")
    return value


def biometric_reading(key: str, entry: object, zone: tzinfo, device: DeviceInfo) -> Reading:
    """One entry of `biometric_data[key]` as a Reading; raises LegacyEntryError saying what is wrong."""
    series = SERIES.get(key)
    if series is None:
        raise LegacyEntryError(unknown_type(key))
    fields = check_fields(entry, FIELDS)
    value = _value(fields["value"], key, series)
    when = parse_when(fields["timestamp"], "timestamp", zone)
    if when.is_date and series.daily_measure is None:
        raise LegacyEntryError(f"timestamp {when.text!r} is a date: {series.no_date}")
    key_of_measure = series.daily_measure if when.is_date else series.measure
    m = measure(str(key_of_measure))
    quantity = Quantity(value * series.factor, str(m.unit))
    return Reading(m.key, when.text, when.text if when.is_date else None, quantity, device)
