"""Fitbit Web API JSON responses -> Readings.

The response kind is recognised by its top-level keys (`activities-heart`, `activities-steps`, `hrv`,
`sleep`, `activities`). Daily values become periods with date precision (`2017-08-15` to `2017-08-15`), which
need no time zone; intraday and sleep times are the user's local wall-clock time without an offset, so the
caller passes the user's zone (`--timezone`), UTC when not given. Files may start with a UTF-8 BOM.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from mappings.wearables.reading import Component, Concept, DeviceInfo, Parsed, Quantity, Reading, Rejection, Skipped
from mappings.wearables.timeframes import check_order

FITBIT = DeviceInfo(name="Fitbit", manufacturer="Fitbit", app="Fitbit Web API")
_UNMAPPED = ("spo2", "br", "average", "heart", "lifetime", "best")


class FitbitError(ValueError):
    """A value the Fitbit Web API would not send; the record is rejected."""


class _Context:
    def __init__(self, name: str, zone: tzinfo) -> None:
        self.name = name
        self.zone = zone

    def day(self, text: object) -> str:
        try:
            return date.fromisoformat(str(text)).isoformat()
        except ValueError as exc:
            raise FitbitError(f"dateTime {text!r} is not a date") from exc

    def local(self, text: object) -> datetime:
        """A local wall-clock time ('2017-04-01T00:00:00.000') in the user's zone."""
        try:
            parsed = datetime.fromisoformat(str(text))
        except ValueError as exc:
            raise FitbitError(f"{text!r} is not a date-time") from exc
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=self.zone)


def _number(value: object, what: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]  # Fitbit sends numbers and numeric strings
    except (TypeError, ValueError) as exc:
        raise FitbitError(f"{what} {value!r} is not a number") from exc
    if number < 0 or number != number:
        raise FitbitError(f"{what} {value!r} is negative or not a number")
    return number


def _guard(ctx: _Context, where: str, make: Callable[..., Reading], *args: Any) -> Parsed:
    """`make(*args)` maps one record; a malformed record becomes a Rejection naming where it is."""
    try:
        return make(*args)
    except (FitbitError, KeyError, TypeError, AttributeError) as exc:
        return Rejection(
            f"{ctx.name} {where}", str(exc) if isinstance(exc, FitbitError) else f"missing or malformed {exc}"
        )


def _daily(ctx: _Context, measure: str, day: object, value: object, what: str, unit: str) -> Reading:
    d = ctx.day(day)
    return Reading(measure, d, d, Quantity(_number(value, what), unit), FITBIT)


def _intraday(ctx: _Context, measure: str, day: str, series: dict[str, Any], unit: str) -> Iterator[Parsed]:
    step = timedelta(minutes=float(series.get("datasetInterval") or 1))
    if series.get("datasetType", "minute") not in ("minute", "second"):
        yield Rejection(ctx.name, f"unknown datasetType {series.get('datasetType')!r}")
        return
    if series.get("datasetType") == "second":
        step = timedelta(seconds=float(series.get("datasetInterval") or 1))

    def one(point: dict[str, Any]) -> Reading:
        start = ctx.local(f"{day}T{point['time']}")
        value = _number(point["value"], "value")
        return Reading(measure, start.isoformat(), (start + step).isoformat(), Quantity(value, unit), FITBIT)

    for i, point in enumerate(series.get("dataset") or []):
        yield _guard(ctx, f"{measure} intraday[{i}]", one, point)


def _heart(ctx: _Context, doc: dict[str, Any]) -> Iterator[Parsed]:
    days = doc.get("activities-heart") or []
    for i, entry in enumerate(days):
        value = entry.get("value")
        resting = value.get("restingHeartRate") if isinstance(value, dict) else entry.get("restingHeartRate")
        if resting is not None:
            where = f"activities-heart[{i}]"
            yield _guard(ctx, where, _daily, ctx, "resting-heart-rate", entry["dateTime"], resting, "resting", "/min")
    if "activities-heart-intraday" in doc:
        if len(days) != 1:
            yield Rejection(ctx.name, "intraday heart rate needs exactly one day in activities-heart")
            return
        yield from _intraday(ctx, "heart-rate", ctx.day(days[0]["dateTime"]), doc["activities-heart-intraday"], "/min")


def _steps(ctx: _Context, doc: dict[str, Any]) -> Iterator[Parsed]:
    days = doc.get("activities-steps") or []
    for i, entry in enumerate(days):
        where = f"activities-steps[{i}]"
        yield _guard(ctx, where, _daily, ctx, "steps-daily", entry.get("dateTime"), entry.get("value"), "steps", "/d")
    if "activities-steps-intraday" in doc:
        if len(days) != 1:
            yield Rejection(ctx.name, "intraday steps need exactly one day in activities-steps")
            return
        yield from _intraday(ctx, "steps", ctx.day(days[0]["dateTime"]), doc["activities-steps-intraday"], "{steps}")


def _hrv(ctx: _Context, doc: dict[str, Any]) -> Iterator[Parsed]:
    for i, entry in enumerate(doc.get("hrv") or []):
        if "minutes" in entry:
            for j, minute in enumerate(entry["minutes"]):
                yield _guard(ctx, f"hrv[{i}].minutes[{j}]", _hrv_minute, ctx, minute)
        else:
            yield _guard(ctx, f"hrv[{i}]", _hrv_day, ctx, entry)


def _hrv_minute(ctx: _Context, minute: dict[str, Any]) -> Reading:
    at = ctx.local(minute["minute"]).isoformat()
    return Reading("hrv-rmssd", at, None, Quantity(_number(minute["value"]["rmssd"], "rmssd"), "ms"), FITBIT)


def _hrv_day(ctx: _Context, entry: dict[str, Any]) -> Reading:
    return _daily(ctx, "hrv-rmssd", entry["dateTime"], entry["value"]["dailyRmssd"], "dailyRmssd", "ms")


_STAGES = (("deep", "deep-sleep"), ("light", "light-sleep"), ("rem", "rem-sleep"), ("wake", "awake-in-sleep"))


def _sleep_log(ctx: _Context, log: dict[str, Any]) -> Reading:
    start, end = ctx.local(log["startTime"]), ctx.local(log["endTime"])
    check_order(start, end)
    parts = [Component("time-in-bed", Quantity(_number(log["timeInBed"], "timeInBed"), "min"))]
    if "efficiency" in log:
        parts.append(Component("sleep-efficiency", Quantity(_number(log["efficiency"], "efficiency"), "%")))
    summary = (log.get("levels") or {}).get("summary") or {}
    for key, measure in _STAGES:
        if isinstance(summary.get(key), dict):
            parts.append(Component(measure, Quantity(_number(summary[key]["minutes"], f"{key} minutes"), "min")))
    if isinstance(log.get("isMainSleep"), bool):
        parts.append(Component("main-sleep", log["isMainSleep"]))
    asleep = Quantity(_number(log["minutesAsleep"], "minutesAsleep"), "min")
    return Reading("sleep-episode", start.isoformat(), end.isoformat(), asleep, FITBIT, tuple(parts))


def _sleep(ctx: _Context, doc: dict[str, Any]) -> Iterator[Parsed]:
    for i, log in enumerate(doc.get("sleep") or []):
        yield _guard(ctx, f"sleep[{i}]", _sleep_log, ctx, log)


def _activity(ctx: _Context, act: dict[str, Any]) -> Reading:
    start = ctx.local(f"{ctx.day(act['startDate'])}T{act['startTime']}")
    minutes = _number(act["duration"], "duration") / 60000  # milliseconds
    end = start + timedelta(minutes=minutes)
    parts = [Component("exercise-duration", Quantity(minutes, "min"))]
    if "calories" in act:
        parts.append(Component("calories", Quantity(_number(act["calories"], "calories"), "kcal")))
    return Reading("exercise", start.isoformat(), end.isoformat(), Concept(str(act["name"])), FITBIT, tuple(parts))


def _activities(ctx: _Context, doc: dict[str, Any]) -> Iterator[Parsed]:
    for i, act in enumerate(doc.get("activities") or []):
        yield _guard(ctx, f"activities[{i}]", _activity, ctx, act)
    if "summary" in doc:
        yield Skipped("fitbit daily activity summary", "the response does not say which day it summarises")


def _is_spo2(doc: object) -> bool:
    """SpO2 responses have no top-level key of their own: a list of daily summaries, or one day's minutes."""
    if isinstance(doc, list):
        return all(isinstance(d, dict) and isinstance(d.get("value"), dict) and "avg" in d["value"] for d in doc)
    return isinstance(doc, dict) and set(doc) == {"dateTime", "minutes"}


def parse_document(doc: object, name: str, zone: tzinfo) -> Iterator[Parsed]:
    if _is_spo2(doc):
        yield Skipped("fitbit spo2", "a Fitbit response we do not map")
        return
    if not isinstance(doc, dict):
        yield Rejection(name, "a Fitbit Web API response is a JSON object")
        return
    ctx = _Context(name, zone)
    found = False
    for keys, parser in (
        (("activities-heart",), _heart),
        (("activities-steps",), _steps),
        (("hrv",), _hrv),
        (("sleep",), _sleep),
        (("activities",), _activities),
    ):
        if any(k in doc for k in keys):
            found = True
            yield from parser(ctx, doc)
    for key in _UNMAPPED:
        if key in doc:
            found = True
            yield Skipped(f"fitbit {key}", "a Fitbit response we do not map")
    if not found:
        yield Rejection(name, "not a Fitbit Web API response we recognise (heart, steps, hrv, sleep, activities)")


def parse_file(path: Path, zone: tzinfo) -> Iterator[Parsed]:
    """A Fitbit Web API response saved as JSON (with or without a UTF-8 BOM)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        yield Rejection(path.name, f"not a readable JSON file: {exc}")
        return
    yield from parse_document(doc, path.name, zone)
