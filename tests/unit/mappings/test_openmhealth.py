"""Open mHealth / IEEE 1752.1 documents -> Observations, on the schemas' own shouldPass/shouldFail test data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mappings.wearables.observation import ObservationBuilder
from mappings.wearables.openmhealth import parse_data_point, parse_file
from mappings.wearables.reading import Reading, Rejection, Skipped
from tests.unit.mappings.conftest import OMH, valid_r4

MAPPED = ["heart-rate", "step-count", "sleep-duration", "total-sleep-time", "sleep-episode", "physical-activity"]
SHOULD_FAIL = sorted(p for m in [*MAPPED, "rr-interval"] for p in (OMH / m).rglob("shouldFail/*.json"))
SHOULD_PASS = sorted(p for m in MAPPED for p in (OMH / m).rglob("shouldPass/*.json"))


def _one(path: Path) -> Any:
    [result] = list(parse_file(path))
    return result


def _observation(doc: dict[str, Any]) -> dict[str, Any]:
    reading = parse_data_point(doc, "test")
    assert isinstance(reading, Reading), reading
    return valid_r4(ObservationBuilder("openmhealth", "p1").build(reading))


@pytest.mark.parametrize("path", SHOULD_FAIL, ids=lambda p: str(p.relative_to(OMH)))
def test_documents_the_schema_rejects_are_rejected_with_a_reason(path: Path) -> None:
    result = _one(path)
    assert isinstance(result, Rejection)
    assert result.reason
    assert result.location == path.name


@pytest.mark.parametrize("path", SHOULD_PASS, ids=lambda p: str(p.relative_to(OMH)))
def test_valid_documents_map_unless_they_say_nothing_about_when(path: Path) -> None:
    result = _one(path)
    if isinstance(result, Rejection):
        # Schema-valid, but no Observation can be made: no time at all, or a period that ends before it starts.
        assert "no effective_time_frame" in result.reason or "before it starts" in result.reason
    else:
        assert isinstance(result, Reading)
        valid_r4(ObservationBuilder("openmhealth", "p1").build(result))


def test_heart_rate_is_loinc_8867_4_per_minute_at_an_instant() -> None:
    obs = _observation(
        {
            "heart_rate": {"value": 50, "unit": "beats/min"},
            "effective_time_frame": {"date_time": "2013-02-05T07:25:00Z"},
        }
    )
    assert obs["code"]["coding"][0] == {"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}
    assert obs["valueQuantity"] == {"value": 50, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}
    assert obs["effectiveDateTime"] == "2013-02-05T07:25:00+00:00"
    assert obs["category"][0]["coding"][0]["code"] == "vital-signs"


def test_step_count_covers_its_interval_in_the_activity_category() -> None:
    obs = _observation(_one_doc(OMH / "step-count/3.0/shouldPass/valid-step-count.json"))
    assert obs["code"]["coding"][0]["code"] == "55423-8"
    assert obs["valueQuantity"]["code"] == "{steps}"
    assert obs["valueQuantity"]["value"] == 10600
    assert obs["effectivePeriod"] == {"start": "2016-02-05T06:25:00+00:00", "end": "2016-02-05T07:25:00+00:00"}
    assert obs["category"][0]["coding"][0]["code"] == "activity"


def _one_doc(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


def test_sleep_duration_in_hours_is_stored_in_minutes() -> None:
    obs = _observation(_one_doc(OMH / "sleep-duration/2.0/shouldPass/valid-sleep-duration.json"))
    assert obs["valueQuantity"]["value"] == 450
    assert obs["valueQuantity"]["code"] == "min"


def test_sleep_episode_with_a_duration_gets_its_end_and_components() -> None:
    obs = _observation(_one_doc(OMH / "sleep-episode/1.1/shouldPass/valid-sleep-episode.json"))
    assert obs["effectivePeriod"] == {"start": "2016-02-05T21:35:00+00:00", "end": "2016-02-06T06:35:00+00:00"}
    assert obs["valueQuantity"]["value"] == 510  # total_sleep_time 8.5 h
    parts = {c["code"]["coding"][0]["code"]: c for c in obs["component"]}
    assert parts["awakenings"]["valueQuantity"]["value"] == 1
    assert parts["sleep-efficiency"]["valueQuantity"] == {
        "value": 94.4,
        "unit": "%",
        "system": "http://unitsofmeasure.org",
        "code": "%",
    }
    assert parts["main-sleep"]["valueBoolean"] is True


def test_physical_activity_converts_miles_to_metres_and_keeps_the_activity_name() -> None:
    obs = _observation(_one_doc(OMH / "physical-activity/1.2/shouldPass/with-calories-burned.json"))
    assert obs["code"]["coding"][0]["code"] == "73985-4"
    assert obs["valueCodeableConcept"] == {"text": "walking"}
    parts = {c["code"]["coding"][0]["code"]: c["valueQuantity"]["value"] for c in obs["component"]}
    assert parts["distance"] == pytest.approx(3.1 * 1609.344)
    assert parts["55411-3"] == 60  # exercise duration, minutes
    assert parts["41981-2"] == 160  # kcal


def test_a_descriptive_statistic_is_kept_in_an_extension() -> None:
    obs = _observation(_one_doc(OMH / "heart-rate/2.0/shouldPass/with-descriptive-statistic.json"))
    [ext] = obs["extension"]
    assert ext["valueCodeableConcept"]["coding"][0]["code"] == "minimum"


def test_body_weight_in_pounds_is_stored_in_kilograms() -> None:
    obs = _observation(
        {"body_weight": {"value": 150, "unit": "lb"}, "effective_time_frame": {"date_time": "2020-01-01T08:00:00Z"}}
    )
    assert obs["code"]["coding"][0]["code"] == "29463-7"
    assert obs["valueQuantity"]["value"] == pytest.approx(68.0388555)
    assert obs["valueQuantity"]["code"] == "kg"


def test_a_data_point_with_a_header_uses_its_schema_and_source_name() -> None:
    doc = {
        "header": {
            "schema_id": {"namespace": "omh", "name": "heart-rate", "version": "2.0"},
            "acquisition_provenance": {"source_name": "Polar H10"},
        },
        "body": {
            "heart_rate": {"value": 61, "unit": "beats/min"},
            "effective_time_frame": {"date_time": "2021-03-01T06:00:00+01:00"},
        },
    }
    reading = parse_data_point(doc, "x")
    assert isinstance(reading, Reading)
    assert reading.device.name == "Polar H10"


def test_a_time_without_offset_is_rejected() -> None:
    result = parse_data_point(
        {
            "heart_rate": {"value": 61, "unit": "beats/min"},
            "effective_time_frame": {"date_time": "2021-03-01T06:00:00"},
        },
        "x",
    )
    assert isinstance(result, Rejection)
    assert "no UTC offset" in result.reason


def test_rr_intervals_are_validated_but_not_mapped_to_hrv() -> None:
    result = _one(OMH / "rr-interval/1.0/shouldPass/with-time-frame.json")
    assert isinstance(result, Skipped)
    assert "HRV" in result.reason


def test_an_array_of_data_points_yields_one_result_each(tmp_path: Path) -> None:
    f = tmp_path / "points.json"
    point = {
        "heart_rate": {"value": 60, "unit": "beats/min"},
        "effective_time_frame": {"date_time": "2020-01-01T00:00Z"},
    }
    f.write_text(json.dumps([point, {}]))
    results = list(parse_file(f))
    assert [type(r) for r in results] == [Reading, Rejection]
    assert results[1].location == "points.json[1]"
