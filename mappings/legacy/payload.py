"""A legacy payload file -> Readings and Rejections, in the importer's reader protocol (`Parsed` items).

Every problem is a `Rejection` whose location names the file and the entry (`payload.json symptom_history[3]`,
`payload.json biometric_data.heart_rate[0]`), and every entry is checked, so one run lists all of them. The
payload is small by design, so it is read whole; a file over `MAX_BYTES` is refused before it is read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import tzinfo
from pathlib import Path
from typing import Any

from mappings.legacy.biometrics import SERIES, biometric_reading, unknown_type
from mappings.legacy.errors import LegacyEntryError
from mappings.legacy.symptoms import symptom_reading
from mappings.wearables.reading import DeviceInfo, Parsed, Reading, Rejection

MAX_BYTES = 50 * 1024 * 1024
TOP_LEVEL = ("patient_id", "symptom_history", "biometric_data")
# The source every Observation of a legacy payload points at: the old shape says nothing about devices.
LEGACY_CLIENT = DeviceInfo(name="NovaMind legacy client (symptom_history / biometric_data payload)")


def _guarded(location: str, make: Callable[..., Reading], *args: Any) -> Parsed:
    """`make(*args)` maps one entry; what is wrong with it becomes a Rejection naming where it is."""
    try:
        return make(*args)
    except LegacyEntryError as exc:
        return Rejection(location, str(exc))


def _symptoms(history: object, name: str, zone: tzinfo) -> Iterator[Parsed]:
    if not isinstance(history, list):
        yield Rejection(f"{name} symptom_history", "symptom_history must be a list of {date, symptom_type, severity}")
        return
    for i, entry in enumerate(history):
        yield _guarded(f"{name} symptom_history[{i}]", symptom_reading, entry, zone, LEGACY_CLIENT)


def _biometrics(data: object, name: str, zone: tzinfo) -> Iterator[Parsed]:
    if not isinstance(data, dict):
        yield Rejection(f"{name} biometric_data", "biometric_data must be an object of type -> [{timestamp, value}]")
        return
    for key, entries in data.items():
        where = f"{name} biometric_data.{key}"
        if key not in SERIES:
            count = f" ({len(entries)} entries)" if isinstance(entries, list) else ""
            yield Rejection(where, unknown_type(key) + count)
        elif not isinstance(entries, list):
            yield Rejection(where, f"{key} must be a list of {{timestamp, value}}")
        else:
            for i, entry in enumerate(entries):
                yield _guarded(f"{where}[{i}]", biometric_reading, key, entry, zone, LEGACY_CLIENT)


def parse_payload(doc: object, name: str, zone: tzinfo) -> Iterator[Parsed]:
    """Every entry of a parsed payload document; `name` (the file name) prefixes each location."""
    if not isinstance(doc, dict):
        yield Rejection(name, "a legacy payload is a JSON object with symptom_history and/or biometric_data")
        return
    payload: dict[str, Any] = doc
    for key in payload:
        if key not in TOP_LEVEL:
            yield Rejection(
                f"{name} {key}", f"unknown top-level key {key!r}; a payload holds only {', '.join(TOP_LEVEL)}"
            )
    if "patient_id" in payload and not isinstance(payload["patient_id"], str):
        yield Rejection(f"{name} patient_id", "patient_id must be a string (it is informational: --patient decides)")
    if "symptom_history" not in payload and "biometric_data" not in payload:
        yield Rejection(name, "the payload has neither symptom_history nor biometric_data: nothing to import")
    if "symptom_history" in payload:
        yield from _symptoms(payload["symptom_history"], name, zone)
    if "biometric_data" in payload:
        yield from _biometrics(payload["biometric_data"], name, zone)


def parse_file(path: Path, zone: tzinfo) -> Iterator[Parsed]:
    """The reader `novamind import legacy` uses (`mappings.wearables.formats.READERS`)."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            yield Rejection(
                path.name,
                f"the file is {size / 2**20:.1f} MiB; a legacy payload is read whole and may be at most "
                f"{MAX_BYTES // 2**20} MiB: split it into several payloads",
            )
            return
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        yield Rejection(path.name, f"not a readable JSON file: {exc}")
        return
    yield from parse_payload(doc, path.name, zone)
