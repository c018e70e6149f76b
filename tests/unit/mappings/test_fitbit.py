"""Fitbit Web API responses -> Observations."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from mappings.wearables.fitbit import parse_file
from mappings.wearables.observation import ObservationBuilder
from mappings.wearables.reading import Parsed, Reading, Rejection, Skipped
from tests.unit.mappings.conftest import FITBIT, valid_r4


def _observations(name: str, zone: Any = UTC) -> list[dict[str, Any]]:
    builder = ObservationBuilder("fitbit", "p1")
    return [valid_r4(builder.build(r)) for r in parse_file(FITBIT / name, zone) if isinstance(r, Reading)]


def test_a_file_with_a_byte_order_mark_is_read() -> None:
    assert (FITBIT / "GetHeartRateTimeSeries.json").read_bytes().startswith(b"\xef\xbb\xbf")
    assert len(_observations("GetHeartRateTimeSeries.json")) == 7


def test_daily_resting_heart_rate_covers_the_day_without_needing_a_time_zone() -> None:
    first = _observations("GetHeartRateTimeSeries.json")[0]
    assert first["code"]["coding"][0]["code"] == "40443-4"
    assert first["valueQuantity"]["value"] == 51
    assert first["effectivePeriod"] == {"start": "2017-08-15", "end": "2017-08-15"}


def test_daily_rmssd_uses_the_local_hrv_code_in_milliseconds() -> None:
    [obs] = _observations("GetHRVSummaryByDate.json")
    assert obs["code"]["coding"][0] == {
        "system": "http://novamind.example.org/fhir/CodeSystem/wearable-measure",
        "code": "hrv-rmssd",
        "display": "Heart rate variability RMSSD",
    }
    assert obs["valueQuantity"]["value"] == 34.938
    assert obs["valueQuantity"]["code"] == "ms"


def test_intraday_steps_are_minutes_in_the_users_time_zone() -> None:
    obs = _observations("IntradayActivitiesSteps.json", ZoneInfo("Europe/Paris"))
    intraday = [o for o in obs if o["code"]["coding"][0]["code"] == "55423-8"]
    assert len(intraday) == 1084
    assert intraday[1]["effectivePeriod"] == {"start": "2016-03-08T00:01:00+01:00", "end": "2016-03-08T00:02:00+01:00"}
    assert intraday[1]["valueQuantity"]["value"] == 2
    daily = [o for o in obs if o["code"]["coding"][0]["code"] == "41950-7"]
    assert daily[0]["valueQuantity"] == {
        "value": 7390,
        "unit": "/d",
        "system": "http://unitsofmeasure.org",
        "code": "/d",
    }


def test_intraday_heart_rate_uses_the_dataset_interval() -> None:
    obs = _observations("GetHeartRateIntradayTimeSeries1.1.json")
    assert len(obs) == 96
    assert obs[0]["effectivePeriod"] == {"start": "2017-08-21T00:00:00+00:00", "end": "2017-08-21T00:15:00+00:00"}


def test_a_sleep_log_is_an_episode_with_its_stages() -> None:
    [obs] = _observations("GetSleep.json")
    assert obs["valueQuantity"]["value"] == 500  # minutesAsleep
    assert obs["effectivePeriod"] == {"start": "2017-04-01T00:00:00+00:00", "end": "2017-04-01T08:00:00+00:00"}
    parts = {c["code"]["coding"][0]["code"]: c for c in obs["component"]}
    assert parts["deep-sleep"]["valueQuantity"]["value"] == 99
    assert parts["rem-sleep"]["valueQuantity"]["value"] == 105
    assert parts["time-in-bed"]["valueQuantity"]["value"] == 586
    assert parts["main-sleep"]["valueBoolean"] is True


def test_a_logged_activity_is_an_exercise_with_duration_and_calories() -> None:
    [obs] = _observations("GetActivities.json")
    assert obs["code"]["coding"][0]["code"] == "73985-4"
    assert obs["valueCodeableConcept"]["text"].startswith("Running")
    parts = {c["code"]["coding"][0]["code"]: c["valueQuantity"]["value"] for c in obs["component"]}
    assert parts == {"55411-3": 40, "41981-2": 541}


def test_responses_we_do_not_map_are_skipped() -> None:
    for name in (
        "GetSpO2SummaryByInterval.json",
        "GetSpO2IntradayByDate.json",
        "GetBreathingRateSummaryByInterval.json",
    ):
        results: list[Parsed] = list(parse_file(FITBIT / name, UTC))
        assert results and all(isinstance(r, Skipped) for r in results), name


def test_a_file_that_is_not_json_is_rejected() -> None:
    [result] = parse_file(FITBIT / "GetSleepOld.json", UTC)
    assert isinstance(result, Rejection)
    assert "not a readable JSON file" in result.reason


def test_a_negative_value_is_rejected(tmp_path: Path) -> None:
    f = tmp_path / "steps.json"
    f.write_text('{"activities-steps": [{"dateTime": "2024-01-01", "value": "-5"}]}')
    [result] = parse_file(f, UTC)
    assert isinstance(result, Rejection)
    assert result.location == "steps.json activities-steps[0]"
