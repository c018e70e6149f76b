"""Apple Health export.xml -> Observations, streamed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from mappings.wearables.apple_health import apple_datetime, parse_device, parse_file
from mappings.wearables.observation import ObservationBuilder
from mappings.wearables.reading import Reading, Rejection, Skipped
from tests.e2e.apple_export import write_export
from tests.unit.mappings.conftest import APPLE, valid_r4

HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_US">\n'


def _export(tmp_path: Path, *records: str) -> Path:
    f = tmp_path / "export.xml"
    f.write_text(HEADER + "\n".join(records) + "\n</HealthData>\n")
    return f


def test_the_sample_heart_rate_becomes_a_loinc_observation_from_the_watch() -> None:
    results = list(parse_file(APPLE / "export.xml"))
    [reading] = [r for r in results if isinstance(r, Reading)]
    obs = valid_r4(ObservationBuilder("apple-health", "p1").build(reading))
    assert [c["code"] for c in obs["code"]["coding"]] == ["8867-4", "HKQuantityTypeIdentifierHeartRate"]
    assert obs["valueQuantity"]["value"] == 72
    assert obs["valueQuantity"]["code"] == "/min"
    assert obs["effectiveDateTime"] == "2018-09-10T02:28:55-07:00"
    assert reading.device.manufacturer == "Apple"
    assert reading.device.hardware == "Watch2,4"


def test_types_we_do_not_map_are_skipped_not_rejected() -> None:
    results = list(parse_file(APPLE / "export.xml"))
    assert Skipped("HKQuantityTypeIdentifierBodyMassIndex") in results
    assert not [r for r in results if isinstance(r, Rejection)]


def test_every_supported_type_of_a_generated_export_maps_to_valid_observations(tmp_path: Path) -> None:
    path = tmp_path / "export.xml"
    unmapped = write_export(path, 2_000)
    results = list(parse_file(path))
    readings = [r for r in results if isinstance(r, Reading)]
    assert len(readings) == 2_000
    assert sum(isinstance(r, Skipped) for r in results) == unmapped
    assert Counter(r.measure for r in readings).keys() == {
        "heart-rate",
        "steps",
        "hrv-sdnn",
        "resting-heart-rate",
        "sleep-period",
    }
    builder = ObservationBuilder("apple-health", "p1")
    for reading in readings[:10]:
        valid_r4(builder.build(reading))


def test_hrv_sdnn_is_loinc_80404_7_in_milliseconds(tmp_path: Path) -> None:
    f = _export(
        tmp_path,
        '<Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" sourceName="Watch" unit="ms" '
        'startDate="2024-01-01 08:00:00 +0100" endDate="2024-01-01 08:01:00 +0100" value="41.5"/>',
    )
    [reading] = parse_file(f)
    obs = ObservationBuilder("apple-health", "p1").build(reading)  # type: ignore[arg-type]
    assert obs["code"]["coding"][0]["code"] == "80404-7"
    assert obs["valueQuantity"]["code"] == "ms"
    assert obs["effectivePeriod"] == {"start": "2024-01-01T08:00:00+01:00", "end": "2024-01-01T08:01:00+01:00"}


def test_a_sleep_sample_records_its_stage_and_length(tmp_path: Path) -> None:
    f = _export(
        tmp_path,
        '<Record type="HKCategoryTypeIdentifierSleepAnalysis" sourceName="Watch" '
        'startDate="2024-01-01 01:00:00 -0800" endDate="2024-01-01 02:30:00 -0800" '
        'value="HKCategoryValueSleepAnalysisAsleepDeep"/>',
    )
    [reading] = parse_file(f)
    obs = valid_r4(ObservationBuilder("apple-health", "p1").build(reading))  # type: ignore[arg-type]
    assert obs["valueQuantity"]["value"] == 90
    [stage] = obs["component"]
    assert stage["valueCodeableConcept"]["coding"][0]["code"] == "HKCategoryValueSleepAnalysisAsleepDeep"


def test_a_record_with_an_unexpected_unit_is_rejected_with_its_position(tmp_path: Path) -> None:
    f = _export(
        tmp_path,
        '<Record type="HKQuantityTypeIdentifierHeartRate" sourceName="W" unit="count/s" '
        'startDate="2024-01-01 08:00:00 +0000" endDate="2024-01-01 08:00:00 +0000" value="1.2"/>',
    )
    [result] = parse_file(f)
    assert isinstance(result, Rejection)
    assert result.location == "export.xml Record #1"
    assert "count/s" in result.reason


def test_a_record_with_a_bad_date_is_rejected(tmp_path: Path) -> None:
    f = _export(
        tmp_path,
        '<Record type="HKQuantityTypeIdentifierStepCount" sourceName="P" unit="count" '
        'startDate="2024-01-01" endDate="2024-01-01 08:00:00 +0000" value="12"/>',
    )
    [result] = parse_file(f)
    assert isinstance(result, Rejection)
    assert "startDate" in result.reason


def test_a_truncated_file_ends_with_a_rejection(tmp_path: Path) -> None:
    f = tmp_path / "export.xml"
    f.write_text(HEADER + '<Record type="HKQuantityTypeIdentifierHeartRate" ')
    results = list(parse_file(f))
    assert isinstance(results[-1], Rejection)
    assert "not well-formed" in results[-1].reason


def test_healthkit_dates_become_fhir_date_times() -> None:
    assert apple_datetime("2016-11-19 21:25:55 -0800", "d") == "2016-11-19T21:25:55-08:00"


def test_the_device_string_keeps_a_hardware_id_that_contains_a_comma() -> None:
    info = parse_device(
        "<<HKDevice: 0x1>, name:Apple Watch, manufacturer:Apple Inc., model:Watch, hardware:Watch6,1, software:10.1>",
        "Watch app",
    )
    assert (info.name, info.manufacturer, info.model, info.hardware, info.app) == (
        "Apple Watch",
        "Apple Inc.",
        "Watch",
        "Watch6,1",
        "Watch app",
    )
