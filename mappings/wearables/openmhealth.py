"""Open mHealth / IEEE 1752.1 JSON -> Readings.

A file holds one data point or a JSON array of them; each is either a bare body (as in the OMH schema test
data) or a `{header, body}` data point whose `header.schema_id.name` names the measure. Bodies are checked
against the rules of their schema that matter for a correct Observation (units, value types, the shape of
`effective_time_frame`), so the schemas' `shouldFail` documents are rejected with a reason. We also reject
bodies without any time frame: the schemas allow them, but an Observation without a time is useless to the
twin. `rr-interval` is validated but not mapped: one R-R interval (or a statistic of them) is not a
heart-rate-variability measure such as SDNN, and no table of ours codes R-R intervals.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from mappings.wearables.reading import Component, Concept, DeviceInfo, Parsed, Quantity, Reading, Rejection, Skipped
from mappings.wearables.timeframes import TimeFormatError, check_order, fhir_datetime, parse_instant

UNSPECIFIED_SOURCE = DeviceInfo(name="Open mHealth source (unspecified)")
# OMH duration-unit-value units -> minutes.
_MINUTES = {
    "ps": 1e-12 / 60,
    "ns": 1e-9 / 60,
    "us": 1e-6 / 60,
    "ms": 1e-3 / 60,
    "sec": 1 / 60,
    "min": 1.0,
    "h": 60.0,
    "d": 1440.0,
    "wk": 10080.0,
}
# OMH length-unit-value units -> metres.
_METRES = {
    "fm": 1e-15,
    "pm": 1e-12,
    "nm": 1e-9,
    "um": 1e-6,
    "mm": 1e-3,
    "cm": 1e-2,
    "m": 1.0,
    "km": 1e3,
    "in": 0.0254,
    "ft": 0.3048,
    "yd": 0.9144,
    "mi": 1609.344,
}
# OMH mass-unit-value units -> kilograms.
_KILOGRAMS = {"kg": 1.0, "g": 1e-3, "lb": 0.45359237, "oz": 0.028349523125}
_SLEEP_EPISODE_KEYS = (
    "latency_to_sleep_onset",
    "latency_to_arising",
    "wake_after_sleep_onset",
    "number_of_awakenings",
    "is_main_sleep",
    "sleep_maintenance_efficiency_percentage",
)
_UNMAPPED = {
    "oxygen_saturation": "oxygen-saturation",
    "respiratory_rate": "respiratory-rate",
    "body_temperature": "body-temperature",
}


class OmhError(ValueError):
    """The body breaks its schema, or lacks what an Observation needs."""


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _unit_value(body: dict[str, Any], key: str, units: dict[str, float] | set[str]) -> tuple[float, str]:
    uv = body.get(key)
    if not isinstance(uv, dict) or not _is_number(uv.get("value")):
        raise OmhError(f"{key} must be {{value: number, unit}}")
    unit = uv.get("unit")
    if unit not in units:
        raise OmhError(f"{key} has unit {unit!r}; the schema allows {', '.join(sorted(units))}")
    return float(uv["value"]), str(unit)


def _minutes(body: dict[str, Any], key: str) -> float:
    value, unit = _unit_value(body, key, _MINUTES)
    return value * _MINUTES[unit]


def _time_frame(body: dict[str, Any], *, interval: bool) -> tuple[str, str | None]:
    frame = body.get("effective_time_frame")
    if frame is None:
        raise OmhError("no effective_time_frame: an Observation needs to know when it was measured")
    if not isinstance(frame, dict):
        raise OmhError("effective_time_frame must be an object")
    if "date_time" in frame and "time_interval" not in frame:
        if interval:
            raise OmhError("this measure covers a period: effective_time_frame must be a time_interval")
        return fhir_datetime(parse_instant(frame["date_time"], "date_time")), None
    ti = frame.get("time_interval")
    if not isinstance(ti, dict) or len(frame) != 1:
        raise OmhError("effective_time_frame must hold exactly one of date_time or time_interval")
    start = ti.get("start_date_time")
    end = ti.get("end_date_time")
    if start is not None and end is not None:
        s, e = parse_instant(start, "start_date_time"), parse_instant(end, "end_date_time")
    elif "duration" in ti and (start is None) != (end is None):
        length = timedelta(minutes=_minutes(ti, "duration"))
        if start is not None:
            s = parse_instant(start, "start_date_time")
            e = s + length
        else:
            e = parse_instant(end, "end_date_time")
            s = e - length
    else:
        raise OmhError("time_interval needs start and end, or one of them with a duration")
    check_order(s, e)
    return fhir_datetime(s), fhir_datetime(e)


def _kind(body: dict[str, Any], schema: str | None) -> str:
    if schema:
        return schema
    if "heart_rate" in body:
        return "heart-rate"
    if "step_count" in body:
        return "step-count"
    if "sleep_duration" in body:
        return "sleep-duration"
    if any(k in body for k in _SLEEP_EPISODE_KEYS):
        return "sleep-episode"
    if "total_sleep_time" in body:
        return "total-sleep-time"
    if "rr_interval" in body:
        return "rr-interval"
    if "activity_name" in body:
        return "physical-activity"
    if "body_weight" in body:
        return "body-weight"
    for key, name in _UNMAPPED.items():
        if key in body:
            return name
    raise OmhError("empty or unrecognised document: no Open mHealth measure found")


def _common(body: dict[str, Any]) -> dict[str, Any]:
    stat = body.get("descriptive_statistic")
    notes = body.get("user_notes")
    return {"statistic": stat if isinstance(stat, str) else None, "note": notes if isinstance(notes, str) else None}


def _heart_rate(body: dict[str, Any], device: DeviceInfo) -> Reading:
    value, _ = _unit_value(body, "heart_rate", {"beats/min"})
    start, end = _time_frame(body, interval=False)
    return Reading("heart-rate", start, end, Quantity(value, "/min"), device, **_common(body))


def _step_count(body: dict[str, Any], device: DeviceInfo) -> Reading:
    raw = body.get("step_count")
    if isinstance(raw, dict):
        value, _ = _unit_value(body, "step_count", {"steps"})
    elif isinstance(raw, int | float) and not isinstance(raw, bool):
        value = float(raw)  # step-count 1.0 / 2.0: a bare number
    else:
        raise OmhError("step_count must be a number of steps")
    if value < 0:
        raise OmhError("step_count is negative")
    start, end = _time_frame(body, interval=True)
    return Reading("steps", start, end, Quantity(value, "{steps}"), device, **_common(body))


def _sleep_duration(key: str) -> Callable[[dict[str, Any], DeviceInfo], Reading]:
    def parse(body: dict[str, Any], device: DeviceInfo) -> Reading:
        value = _minutes(body, key)
        start, end = _time_frame(body, interval=True)
        return Reading("sleep-duration", start, end, Quantity(value, "min"), device, **_common(body))

    return parse


def _sleep_episode(body: dict[str, Any], device: DeviceInfo) -> Reading:
    start, end = _time_frame(body, interval=True)
    parts: list[Component] = []
    for key, measure_key in (
        ("latency_to_sleep_onset", "sleep-onset-latency"),
        ("latency_to_arising", "arising-latency"),
        ("wake_after_sleep_onset", "wake-after-sleep-onset"),
    ):
        if key in body:
            parts.append(Component(measure_key, Quantity(_minutes(body, key), "min")))
    if "number_of_awakenings" in body:
        n = body["number_of_awakenings"]
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise OmhError("number_of_awakenings must be a non-negative integer")
        parts.append(Component("awakenings", Quantity(n, "{#}")))
    if "sleep_maintenance_efficiency_percentage" in body:
        pct, _ = _unit_value(body, "sleep_maintenance_efficiency_percentage", {"%"})
        parts.append(Component("sleep-efficiency", Quantity(pct, "%")))
    if "is_main_sleep" in body:
        if not isinstance(body["is_main_sleep"], bool):
            raise OmhError("is_main_sleep must be true or false")
        parts.append(Component("main-sleep", body["is_main_sleep"]))
    total = Quantity(_minutes(body, "total_sleep_time"), "min") if "total_sleep_time" in body else None
    return Reading("sleep-episode", start, end, total, device, tuple(parts), **_common(body))


def _physical_activity(body: dict[str, Any], device: DeviceInfo) -> Reading:
    name = body.get("activity_name")
    if not isinstance(name, str) or not name:
        raise OmhError("activity_name must be a non-empty string")
    parts: list[Component] = []
    if "distance" in body:
        value, unit = _unit_value(body, "distance", _METRES)
        parts.append(Component("distance", Quantity(value * _METRES[unit], "m")))
    if "kcal_burned" in body:
        value, _ = _unit_value(body, "kcal_burned", {"kcal"})
        parts.append(Component("calories", Quantity(value, "kcal")))
    start, end = _time_frame(body, interval=False)
    if end is not None:
        minutes = (parse_instant(end, "end") - parse_instant(start, "start")) / timedelta(minutes=1)
        parts.insert(0, Component("exercise-duration", Quantity(minutes, "min")))
    return Reading("exercise", start, end, Concept(name), device, tuple(parts), **_common(body))


def _body_weight(body: dict[str, Any], device: DeviceInfo) -> Reading:
    value, unit = _unit_value(body, "body_weight", _KILOGRAMS)
    start, end = _time_frame(body, interval=False)
    return Reading("body-weight", start, end, Quantity(value * _KILOGRAMS[unit], "kg"), device, **_common(body))


def _rr_interval(body: dict[str, Any], device: DeviceInfo) -> Skipped:
    _unit_value(body, "rr_interval", {"ms"})
    return Skipped("rr-interval", "a single R-R interval is not an HRV measure (SDNN/RMSSD); not mapped")


_PARSERS: dict[str, Callable[[dict[str, Any], DeviceInfo], Parsed]] = {
    "heart-rate": _heart_rate,
    "step-count": _step_count,
    "sleep-duration": _sleep_duration("sleep_duration"),
    "total-sleep-time": _sleep_duration("total_sleep_time"),
    "sleep-episode": _sleep_episode,
    "physical-activity": _physical_activity,
    "body-weight": _body_weight,
    "rr-interval": _rr_interval,
}


def _source(header: dict[str, Any]) -> DeviceInfo:
    provenance = header.get("acquisition_provenance")
    if isinstance(provenance, dict) and isinstance(provenance.get("source_name"), str):
        return DeviceInfo(name=provenance["source_name"])
    return UNSPECIFIED_SOURCE


def parse_data_point(doc: object, location: str) -> Parsed:
    """One OMH document (bare body or `{header, body}`) -> a Reading, or why not."""
    if not isinstance(doc, dict):
        return Rejection(location, "an Open mHealth data point must be a JSON object")
    body: Any = doc
    schema: str | None = None
    device = UNSPECIFIED_SOURCE
    if isinstance(doc.get("header"), dict) and "body" in doc:
        header, body = doc["header"], doc["body"]
        schema_id = header.get("schema_id")
        schema = schema_id.get("name") if isinstance(schema_id, dict) else None
        device = _source(header)
        if not isinstance(body, dict):
            return Rejection(location, "body must be a JSON object")
    try:
        kind = _kind(body, schema)
        parser = _PARSERS.get(kind)
        if parser is None:
            return Skipped(kind, "an Open mHealth measure we do not map")
        return parser(body, device)
    except (OmhError, TimeFormatError) as exc:
        return Rejection(location, str(exc))


def parse_file(path: Path) -> Iterator[Parsed]:
    """Every data point of an OMH JSON file (one object, or an array of them)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        yield Rejection(path.name, f"not a readable JSON file: {exc}")
        return
    if isinstance(doc, list):
        for i, item in enumerate(doc):
            yield parse_data_point(item, f"{path.name}[{i}]")
    else:
        yield parse_data_point(doc, path.name)
