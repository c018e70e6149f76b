"""The legacy payload's entries: symptom types and their scales, biometric types and their units, times, shape."""

from __future__ import annotations

from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from mappings.legacy import NO_TIMEZONE, parse_payload
from mappings.questionnaires.instruments import instruments
from mappings.wearables.measures import measure
from mappings.wearables.observation import ObservationBuilder
from mappings.wearables.reading import Parsed, Reading, Rejection
from terminology import Terminology

TWIN = "http://novamind.example.org/fhir/CodeSystem/twin-concepts"


@pytest.fixture(scope="module")
def terminology() -> Terminology:
    return Terminology.load_default()


def parse(doc: Any, zone: Any = NO_TIMEZONE) -> list[Parsed]:
    return list(parse_payload(doc, "payload.json", zone))


def symptom(symptom_type: object = "phq9", severity: object = 14, date: object = "2024-05-01") -> dict[str, Any]:
    return {"symptom_history": [{"date": date, "symptom_type": symptom_type, "severity": severity}]}


def biometric(kind: str, value: object, timestamp: object = "2024-05-01T08:00:00Z") -> dict[str, Any]:
    return {"biometric_data": {kind: [{"timestamp": timestamp, "value": value}]}}


def observation(doc: Any, zone: Any = NO_TIMEZONE) -> dict[str, Any]:
    (reading,) = parse(doc, zone)
    assert isinstance(reading, Reading), reading
    return ObservationBuilder("legacy", "p1").build(reading)


def rejection(doc: Any, zone: Any = NO_TIMEZONE) -> Rejection:
    (only,) = [r for r in parse(doc, zone) if isinstance(r, Rejection)]
    return only


def code(obs: dict[str, Any]) -> tuple[str, str]:
    coding = obs["code"]["coding"][0]
    return coding["system"], coding["code"]


# ---- symptom types ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("alias", ["phq9", "phq-9", "PHQ-9", "phq_9", "depression", "Depression"])
def test_each_phq9_alias_is_the_phq9_total_score(alias: str, terminology: Terminology) -> None:
    total = instruments(terminology)["phq-9"].total
    assert code(observation(symptom(alias, 14))) == ("http://loinc.org", total.code)


@pytest.mark.parametrize("alias", ["gad7", "gad-7", "GAD_7", "anxiety"])
def test_each_gad7_alias_is_the_gad7_total_score(alias: str, terminology: Terminology) -> None:
    total = instruments(terminology)["gad-7"].total
    assert code(observation(symptom(alias, 9))) == ("http://loinc.org", total.code)


@pytest.mark.parametrize(
    ("alias", "concept"),
    [
        ("mood", "mood-rating"),
        ("mood_rating", "mood-rating"),
        ("sleep_quality", "sleep-quality-rating"),
        ("sleep quality", "sleep-quality-rating"),
        ("energy", "energy-rating"),
        ("stress", "stress-rating"),
    ],
)
def test_each_rating_alias_is_its_twin_concept(alias: str, concept: str, terminology: Terminology) -> None:
    obs = observation(symptom(alias, 6))
    assert code(obs) == (TWIN, concept)
    assert obs["code"]["coding"][0]["display"] == terminology.concept(TWIN, concept).display


def test_a_symptom_is_a_survey_score_at_its_date() -> None:
    obs = observation(symptom("phq9", 14, "2024-05-01"))
    assert obs["category"][0]["coding"][0]["code"] == "survey"
    assert obs["effectiveDateTime"] == "2024-05-01"
    assert obs["valueQuantity"] == {
        "value": 14,
        "unit": "{score}",
        "system": "http://unitsofmeasure.org",
        "code": "{score}",
    }


def test_a_symptom_date_may_be_a_datetime_with_offset() -> None:
    assert observation(symptom(date="2024-05-01T21:30:00+02:00"))["effectiveDateTime"] == "2024-05-01T21:30:00+02:00"


def test_the_symptom_measures_are_the_questionnaires_totals(terminology: Terminology) -> None:
    catalog = instruments(terminology)
    assert measure("phq9-total").code == catalog["phq-9"].total.code
    assert measure("gad7-total").code == catalog["gad-7"].total.code


# ---- symptom scales -----------------------------------------------------------------------------------------


def test_a_phq9_severity_over_27_is_rejected_naming_the_entry() -> None:
    history = [{"date": "2024-05-01", "symptom_type": "phq9", "severity": s} for s in (1, 2, 3, 31)]
    found = rejection({"symptom_history": history})
    assert found.location == "payload.json symptom_history[3]"
    assert found.reason == "severity 31 is outside PHQ-9's 0–27"


def test_a_gad7_severity_over_21_is_rejected() -> None:
    assert rejection(symptom("anxiety", 22)).reason == "severity 22 is outside GAD-7's 0–21"


def test_a_rating_over_10_is_rejected() -> None:
    assert rejection(symptom("mood", 11)).reason == "severity 11 is outside the mood rating's 0–10"


def test_a_negative_severity_is_rejected() -> None:
    assert "outside PHQ-9's 0–27" in rejection(symptom("phq9", -1)).reason


def test_a_fractional_severity_is_rejected() -> None:
    assert "not a whole number" in rejection(symptom("phq9", 14.5)).reason


def test_a_whole_severity_written_as_a_decimal_is_accepted() -> None:
    assert observation(symptom("phq9", 14.0))["valueQuantity"]["value"] == 14


@pytest.mark.parametrize("severity", ["14", True, [14]])
def test_a_severity_that_is_not_a_number_is_rejected(severity: object) -> None:
    assert "is not a number" in rejection(symptom("phq9", severity)).reason


def test_an_unknown_symptom_type_is_rejected_with_the_known_types() -> None:
    reason = rejection(symptom("fatigue", 3)).reason
    assert reason.startswith("unknown symptom_type 'fatigue'")
    assert "phq9" in reason and "sleep-quality" in reason


@pytest.mark.parametrize("missing", ["date", "symptom_type", "severity"])
def test_a_symptom_entry_missing_a_field_is_rejected(missing: str) -> None:
    doc = symptom()
    del doc["symptom_history"][0][missing]
    assert rejection(doc).reason == f"no {missing}; an entry needs date, symptom_type, severity"


def test_a_symptom_entry_with_an_unknown_field_is_rejected() -> None:
    doc = symptom()
    doc["symptom_history"][0]["notes"] = "felt low"
    assert rejection(doc).reason.startswith("unknown field(s) notes")


def test_a_symptom_entry_that_is_not_an_object_is_rejected() -> None:
    assert "must be a JSON object" in rejection({"symptom_history": [["2024-05-01", "phq9", 14]]}).reason


# ---- biometric types ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "timestamp", "value", "measure_key", "stored"),
    [
        ("heart_rate", "2024-05-01T08:00:00Z", 62, "heart-rate", 62),
        ("resting_heart_rate", "2024-05-01", 58, "resting-heart-rate", 58),
        ("hrv", "2024-05-01T03:00:00Z", 48.5, "hrv-sdnn", 48.5),
        ("hrv_sdnn", "2024-05-01T03:00:00Z", 48.5, "hrv-sdnn", 48.5),
        ("hrv_rmssd", "2024-05-01", 41, "hrv-rmssd", 41),
        ("steps", "2024-05-01T12:00:00Z", 1200, "steps", 1200),
        ("steps", "2024-05-01", 8412, "steps-daily", 8412),
        ("sleep_duration", "2024-05-01", 7.5, "sleep-duration", 450),
        ("weight", "2024-05-01T07:30:00+02:00", 72.4, "body-weight", 72.4),
        ("calories", "2024-05-01", 2150, "calories", 2150),
    ],
)
def test_each_biometric_type_becomes_its_measure_in_its_unit(
    kind: str, timestamp: str, value: float, measure_key: str, stored: float
) -> None:
    m = measure(measure_key)
    obs = observation(biometric(kind, value, timestamp))
    assert code(obs) == (m.system, m.code)
    assert obs["category"][0]["coding"][0]["code"] == m.category
    assert (obs["valueQuantity"]["value"], obs["valueQuantity"]["code"]) == (stored, m.unit)


def test_an_unqualified_hrv_is_read_as_sdnn() -> None:
    assert code(observation(biometric("hrv", 50)))[1] == measure("hrv-sdnn").code


def test_a_datetime_is_an_instant() -> None:
    obs = observation(biometric("heart_rate", 62, "2024-05-01T08:00:00Z"))
    assert obs["effectiveDateTime"] == "2024-05-01T08:00:00+00:00"


def test_a_date_is_that_whole_day() -> None:
    assert observation(biometric("steps", 8412, "2024-05-01"))["effectivePeriod"] == {
        "start": "2024-05-01",
        "end": "2024-05-01",
    }


def test_a_heart_rate_on_a_date_is_rejected() -> None:
    assert "a heart rate is momentary" in rejection(biometric("heart_rate", 62, "2024-05-01")).reason


def test_an_unknown_biometric_type_is_rejected_once_with_its_entry_count() -> None:
    doc = {"biometric_data": {"glucose": [{"timestamp": "2024-05-01T08:00:00Z", "value": 5.1}] * 3}}
    found = rejection(doc)
    assert found.location == "payload.json biometric_data.glucose"
    assert found.reason.startswith("unknown biometric type 'glucose'; the known types are heart_rate")
    assert found.reason.endswith("(3 entries)")


@pytest.mark.parametrize(("kind", "value"), [("steps", -5), ("heart_rate", 0), ("weight", 0), ("hrv", -1)])
def test_an_impossible_value_is_rejected(kind: str, value: float) -> None:
    assert f"is impossible for {kind}" in rejection(biometric(kind, value)).reason


def test_sleep_over_24_hours_is_rejected() -> None:
    assert "over 24 hours" in rejection(biometric("sleep_duration", 25, "2024-05-01")).reason


def test_fractional_steps_are_rejected() -> None:
    assert "not a whole number of steps" in rejection(biometric("steps", 10.5)).reason


@pytest.mark.parametrize("value", ["62", None, True, float("nan")])
def test_a_biometric_value_that_is_not_a_number_is_rejected(value: object) -> None:
    reason = rejection(biometric("heart_rate", value)).reason
    assert "is not a number" in reason or reason.startswith("no value")


def test_a_biometric_entry_with_a_unit_is_rejected_because_units_are_fixed_by_type() -> None:
    doc = {"biometric_data": {"heart_rate": [{"timestamp": "2024-05-01T08:00:00Z", "value": 62, "unit": "bpm"}]}}
    found = rejection(doc)
    assert found.location == "payload.json biometric_data.heart_rate[0]"
    assert found.reason.startswith("unknown field(s) unit")


def test_a_biometric_entry_without_a_timestamp_is_rejected() -> None:
    doc = {"biometric_data": {"weight": [{"value": 70}]}}
    assert rejection(doc).reason == "no timestamp; an entry needs timestamp, value"


# ---- times --------------------------------------------------------------------------------------------------


def test_a_datetime_without_offset_is_rejected_when_no_timezone_is_given() -> None:
    reason = rejection(biometric("heart_rate", 62, "2024-05-01T08:00:00")).reason
    assert "has no UTC offset" in reason and "--timezone" in reason


def test_a_datetime_without_offset_takes_the_given_timezone() -> None:
    obs = observation(biometric("heart_rate", 62, "2024-05-01T08:00:00"), ZoneInfo("Europe/Berlin"))
    assert obs["effectiveDateTime"] == "2024-05-01T08:00:00+02:00"


def test_a_symptom_datetime_without_offset_is_rejected_too() -> None:
    assert "has no UTC offset" in rejection(symptom(date="2024-05-01T21:00:00")).reason


def test_a_date_needs_no_timezone() -> None:
    assert observation(symptom(date="2024-05-01"), NO_TIMEZONE)["effectiveDateTime"] == "2024-05-01"


@pytest.mark.parametrize("text", ["01/05/2024", "2024-13-01", "yesterday", 20240501])
def test_a_malformed_time_is_rejected(text: object) -> None:
    assert "is not an ISO 8601 date or date-time" in rejection(biometric("steps", 10, text)).reason


# ---- the payload's shape ------------------------------------------------------------------------------------


def test_a_payload_that_is_not_an_object_is_rejected() -> None:
    assert rejection([{"date": "2024-05-01"}]).location == "payload.json"


def test_an_unknown_top_level_key_is_rejected() -> None:
    found = rejection({**symptom(), "medications": []})
    assert (found.location, found.reason.split(";")[0]) == (
        "payload.json medications",
        "unknown top-level key 'medications'",
    )


def test_a_payload_with_neither_list_is_rejected() -> None:
    assert "nothing to import" in rejection({"patient_id": "p1"}).reason


def test_a_patient_id_that_is_not_a_string_is_rejected() -> None:
    assert rejection({**symptom(), "patient_id": 7}).location == "payload.json patient_id"


def test_a_symptom_history_that_is_not_a_list_is_rejected() -> None:
    assert rejection({"symptom_history": {"date": "2024-05-01"}}).location == "payload.json symptom_history"


def test_biometric_data_that_is_not_an_object_is_rejected() -> None:
    assert rejection({"biometric_data": [{"timestamp": "2024-05-01", "value": 1}]}).location == (
        "payload.json biometric_data"
    )


def test_a_biometric_series_that_is_not_a_list_is_rejected() -> None:
    doc = {"biometric_data": {"steps": {"timestamp": "2024-05-01", "value": 1}}}
    assert rejection(doc).location == "payload.json biometric_data.steps"


def test_every_bad_entry_is_reported_and_the_good_ones_still_parse() -> None:
    doc = {
        **symptom("phq9", 40),
        "biometric_data": {"heart_rate": [{"timestamp": "2024-05-01T08:00:00Z", "value": 62}]},
    }
    results = parse(doc, UTC)
    assert [type(r).__name__ for r in results] == ["Rejection", "Reading"]
