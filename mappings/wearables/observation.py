"""Readings -> FHIR R4 Observation dicts, shared by every vendor.

The identifier (system `RECORD_SYSTEM`) is a hash of everything that makes a record the same record: the
source format, the patient, the device, the measure, the time and the value. Re-importing the same export
therefore produces the same identifiers, and the importer's conditional creates (`ifNoneExist`) store
nothing twice; a corrected value is a different record and is stored beside the old one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import orjson

from mappings.wearables.device import device_full_url, device_key
from mappings.wearables.measures import CATEGORY_DISPLAY, CATEGORY_SYSTEM, UCUM, Measure, measure
from mappings.wearables.reading import Component, Concept, DeviceInfo, Quantity, Reading

RECORD_SYSTEM = "http://novamind.example.org/fhir/sid/wearable-record"
STATISTIC_EXTENSION = "http://novamind.example.org/fhir/StructureDefinition/descriptive-statistic"
STATISTIC_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-statistics"
# Open mHealth descriptive_statistic -> R4 observation-statistics code (terminology NOTES 5).
_STATISTICS = {
    "average": "average",
    "maximum": "maximum",
    "minimum": "minimum",
    "count": "count",
    "sum": "sum",
    "median": "median",
    "standard deviation": "std-dev",
    "variance": "variance",
}


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _coding(m: Measure) -> dict[str, str]:
    return {"system": m.system, "code": m.code, "display": m.display}


def _value(key: str, value: Quantity | Concept | bool) -> tuple[str, Any]:
    if isinstance(value, bool):
        return "valueBoolean", value
    if isinstance(value, Quantity):
        unit = measure(key).unit
        if value.unit != unit:
            raise ValueError(f"{key} is measured in {unit}, not {value.unit}")
        return "valueQuantity", {"value": _number(value.value), "unit": unit, "system": UCUM, "code": unit}
    concept: dict[str, Any] = {"text": value.text}
    if value.system and value.code:
        concept["coding"] = [{"system": value.system, "code": value.code, "display": value.text}]
    return "valueCodeableConcept", concept


def _component(c: Component) -> dict[str, Any]:
    m = measure(c.measure)
    element, value = _value(c.measure, c.value)
    return {"code": {"coding": [_coding(m)], "text": m.display}, element: value}


def record_key(source: str, patient_id: str, reading: Reading) -> str:
    """The stable identifier value of a reading (see the module docstring)."""
    payload = orjson.dumps(
        [
            source,
            patient_id,
            device_key(reading.device, patient_id),
            reading.measure,
            reading.start,
            reading.end,
            repr(reading.value),
            [repr(c) for c in reading.components],
            reading.statistic,
        ]
    )
    return hashlib.sha256(payload).hexdigest()[:40]


class ObservationBuilder:
    """Builds the Observations of one import: one source format, one patient."""

    def __init__(
        self, source: str, patient_id: str, device_reference: Callable[[DeviceInfo, str], str] = device_full_url
    ) -> None:
        self.source = source
        self.patient_id = patient_id
        self.device_reference = device_reference

    def build(self, reading: Reading) -> dict[str, Any]:
        m = measure(reading.measure)
        coding = [_coding(m)]
        if reading.native:
            coding.append({"system": reading.native[0], "code": reading.native[1]})
        obs: dict[str, Any] = {
            "resourceType": "Observation",
            "identifier": [{"system": RECORD_SYSTEM, "value": record_key(self.source, self.patient_id, reading)}],
            "status": "final",
            "category": [
                {"coding": [{"system": CATEGORY_SYSTEM, "code": m.category, "display": CATEGORY_DISPLAY[m.category]}]}
            ],
            "code": {"coding": coding, "text": m.display},
            "subject": {"reference": f"Patient/{self.patient_id}"},
        }
        if reading.end is None:
            obs["effectiveDateTime"] = reading.start
        else:
            obs["effectivePeriod"] = {"start": reading.start, "end": reading.end}
        obs["device"] = {"reference": self.device_reference(reading.device, self.patient_id)}
        if reading.value is not None:
            element, value = _value(reading.measure, reading.value)
            obs[element] = value
        if reading.components:
            obs["component"] = [_component(c) for c in reading.components]
        if reading.statistic:
            obs["extension"] = [self._statistic(reading.statistic)]
        if reading.note:
            obs["note"] = [{"text": reading.note}]
        return obs

    @staticmethod
    def _statistic(statistic: str) -> dict[str, Any]:
        code = _STATISTICS.get(statistic)
        if code is None:
            return {"url": STATISTIC_EXTENSION, "valueCodeableConcept": {"text": statistic}}
        return {
            "url": STATISTIC_EXTENSION,
            "valueCodeableConcept": {"coding": [{"system": STATISTIC_SYSTEM, "code": code}], "text": statistic},
        }
