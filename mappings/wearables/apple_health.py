"""Apple Health `export.xml` -> Readings, streamed.

Real exports are gigabytes, so the file is read with `iterparse` and every top-level element is cleared
(and detached from the root) as soon as it has been handled: memory stays flat however long the file is.
Only `<Record>`s of the supported types become readings; other records are counted as skipped by type, and
`<Workout>`, `<ActivitySummary>`, `<Me>` and the rest are ignored (they are summaries, not samples).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from mappings.wearables.reading import Component, Concept, DeviceInfo, Parsed, Quantity, Reading, Rejection, Skipped
from mappings.wearables.timeframes import minutes_between

HEALTHKIT = "http://developer.apple.com/documentation/healthkit"
SLEEP = "HKCategoryTypeIdentifierSleepAnalysis"
# HealthKit type -> (measure, {HealthKit unit: UCUM unit}); see terminology/data/healthkit-map.csv.
QUANTITIES: dict[str, tuple[str, dict[str, str]]] = {
    "HKQuantityTypeIdentifierHeartRate": ("heart-rate", {"count/min": "/min"}),
    "HKQuantityTypeIdentifierRestingHeartRate": ("resting-heart-rate", {"count/min": "/min"}),
    "HKQuantityTypeIdentifierHeartRateVariabilitySDNN": ("hrv-sdnn", {"ms": "ms"}),
    "HKQuantityTypeIdentifierStepCount": ("steps", {"count": "{steps}"}),
}
_DATE = re.compile(r"(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) ([+-]\d\d)(\d\d)")
_DEVICE_FIELD = re.compile(r", (?=[A-Za-z]+:)")


class AppleRecordError(ValueError):
    """A `<Record>` whose attributes cannot make a correct Observation."""


def apple_datetime(text: str | None, what: str) -> str:
    """'2016-11-19 21:25:55 -0800' -> '2016-11-19T21:25:55-08:00' (HealthKit's export format -> FHIR)."""
    match = _DATE.fullmatch(text or "")
    if match is None:
        raise AppleRecordError(f"{what} {text!r} is not a HealthKit export date ('YYYY-MM-DD hh:mm:ss ±hhmm')")
    day, time, hours, minutes = match.groups()
    return f"{day}T{time}{hours}:{minutes}"


def parse_device(text: str | None, source_name: str) -> DeviceInfo:
    """The `device` attribute ('<<HKDevice: 0x…>, name:Apple Watch, manufacturer:Apple, …>') as a DeviceInfo."""
    if not text:
        return DeviceInfo(name=source_name)
    fields: dict[str, str] = {}
    for part in _DEVICE_FIELD.split(text.strip().removesuffix(">")):
        key, sep, value = part.partition(":")
        if sep and not key.startswith("<"):
            fields[key.strip()] = value.strip()
    return DeviceInfo(
        name=fields.get("name") or source_name,
        manufacturer=fields.get("manufacturer"),
        model=fields.get("model"),
        hardware=fields.get("hardware"),
        app=source_name,
    )


class _Devices:
    """One DeviceInfo per distinct (sourceName, device) pair: exports repeat the same strings millions of times."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str | None], DeviceInfo] = {}

    def get(self, source_name: str, device: str | None) -> DeviceInfo:
        key = (source_name, device)
        info = self._seen.get(key)
        if info is None:
            info = self._seen[key] = parse_device(device, source_name)
        return info


def _times(attrs: dict[str, str]) -> tuple[str, str]:
    return apple_datetime(attrs.get("startDate"), "startDate"), apple_datetime(attrs.get("endDate"), "endDate")


def _quantity(kind: str, attrs: dict[str, str], device: DeviceInfo) -> Reading:
    measure, units = QUANTITIES[kind]
    ucum = units.get(attrs.get("unit", ""))
    if ucum is None:
        raise AppleRecordError(f"unit {attrs.get('unit')!r} is not one we accept for {kind} ({', '.join(units)})")
    try:
        value = float(attrs["value"])
    except (KeyError, ValueError) as exc:
        raise AppleRecordError(f"value {attrs.get('value')!r} is not a number") from exc
    if value < 0 or value != value:
        raise AppleRecordError(f"value {value} is not a valid {measure}")
    start, end = _times(attrs)
    if end != start and datetime.fromisoformat(end) < datetime.fromisoformat(start):
        raise AppleRecordError("endDate is before startDate")
    return Reading(
        measure, start, None if end == start else end, Quantity(value, ucum), device, native=(HEALTHKIT, kind)
    )


def _sleep(attrs: dict[str, str], device: DeviceInfo) -> Reading:
    stage = attrs.get("value", "")
    if not stage.startswith("HKCategoryValueSleepAnalysis"):
        raise AppleRecordError(f"sleep value {stage!r} is not an HKCategoryValueSleepAnalysis stage")
    start, end = _times(attrs)
    minutes = minutes_between(datetime.fromisoformat(start), datetime.fromisoformat(end))
    if minutes < 0:
        raise AppleRecordError("endDate is before startDate")
    label = stage.removeprefix("HKCategoryValueSleepAnalysis")
    components = (Component("sleep-stage", Concept(label, HEALTHKIT, stage)),)
    return Reading("sleep-period", start, end, Quantity(minutes, "min"), device, components, native=(HEALTHKIT, SLEEP))


def record(attrs: dict[str, str], devices: _Devices, location: str) -> Parsed:
    kind = attrs.get("type", "")
    if kind not in QUANTITIES and kind != SLEEP:
        return Skipped(kind or "Record without type")
    device = devices.get(attrs.get("sourceName") or "Apple Health", attrs.get("device"))
    try:
        return _sleep(attrs, device) if kind == SLEEP else _quantity(kind, attrs, device)
    except AppleRecordError as exc:
        return Rejection(location, f"{kind}: {exc}")


def parse_file(path: Path) -> Iterator[Parsed]:
    """Stream the export's records; a malformed XML file ends with one Rejection naming the line."""
    devices = _Devices()
    depth = 0
    root: ET.Element | None = None
    count = 0
    try:
        for event, elem in ET.iterparse(path, events=("start", "end")):
            if event == "start":
                depth += 1
                if root is None:
                    root = elem
                continue
            depth -= 1
            if depth != 1:
                continue  # a nested element (MetadataEntry, Location, ...): handled with its parent
            if elem.tag == "Record":
                count += 1
                yield record(dict(elem.attrib), devices, f"{path.name} Record #{count}")
            elem.clear()
            if root is not None:
                root.clear()  # drop the handled children, or the tree grows with the file
    except ET.ParseError as exc:
        yield Rejection(path.name, f"not well-formed XML: {exc}")
