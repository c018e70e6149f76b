"""Every code and unit the wearable mappers emit comes from the terminology tables, never from memory."""

from __future__ import annotations

import csv
from typing import Any

import pytest

from mappings.wearables.measures import LOINC, UCUM, measures
from tests.unit.mappings.conftest import TERMINOLOGY, valid_r4
from tests.unit.mappings.helpers import all_sample_observations


def _rows(name: str) -> dict[str, dict[str, str]]:
    with (TERMINOLOGY / name).open(encoding="utf-8") as f:
        return {row["code"]: row for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def observations() -> list[dict[str, Any]]:
    return all_sample_observations()


def _codings(obs: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(obs["code"]["coding"])
    for c in obs.get("component", []):
        found.extend(c["code"]["coding"])
    return found


def _quantities(obs: dict[str, Any]) -> list[dict[str, Any]]:
    found = [obs["valueQuantity"]] if "valueQuantity" in obs else []
    return found + [c["valueQuantity"] for c in obs.get("component", []) if "valueQuantity" in c]


def test_the_samples_produce_observations_of_every_kind(observations: list[dict[str, Any]]) -> None:
    codes = {c["code"] for o in observations for c in o["code"]["coding"]}
    assert {"8867-4", "40443-4", "55423-8", "41950-7", "hrv-rmssd", "sleep-episode", "73985-4"} <= codes


def test_every_loinc_code_emitted_is_a_verified_row_of_loinc_csv(observations: list[dict[str, Any]]) -> None:
    loinc = _rows("loinc.csv")
    emitted = {(c["code"], c["display"]) for o in observations for c in _codings(o) if c["system"] == LOINC}
    assert emitted
    for code, display in emitted:
        assert code in loinc, code
        assert loinc[code]["verification"] != "UNVERIFIED", code
        assert display == loinc[code]["display"]


def test_every_unit_emitted_is_in_ucum_csv(observations: list[dict[str, Any]]) -> None:
    ucum = _rows("ucum.csv")
    quantities = [q for o in observations for q in _quantities(o)]
    assert quantities
    for q in quantities:
        assert q["system"] == UCUM
        assert q["code"] in ucum, q


def test_every_loinc_measure_has_the_unit_and_category_loinc_csv_gives_it() -> None:
    loinc = _rows("loinc.csv")
    for m in measures().values():
        if m.system == LOINC:
            assert m.unit == (loinc[m.code]["ucum_unit"] or None), m.key
            assert m.category == loinc[m.code]["observation_category"], m.key


def test_unverified_sleep_loinc_codes_are_never_emitted(observations: list[dict[str, Any]]) -> None:
    loinc = _rows("loinc.csv")
    unverified = {code for code, row in loinc.items() if row["verification"] == "UNVERIFIED"}
    assert unverified & {c["code"] for o in observations for c in _codings(o)} == set()


def test_every_observation_is_valid_r4_with_subject_device_and_identifier(observations: list[dict[str, Any]]) -> None:
    for obs in observations:
        valid_r4(obs)
        assert obs["subject"] == {"reference": "Patient/patient-1"}
        assert obs["device"]["reference"].startswith("urn:uuid:")
        assert obs["identifier"][0]["system"] == "http://novamind.example.org/fhir/sid/wearable-record"
        assert ("effectiveDateTime" in obs) != ("effectivePeriod" in obs)
