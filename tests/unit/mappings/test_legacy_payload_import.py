"""The legacy payload as an import format: valid coded Observations, stable identifiers, the twin's frames,
the importer and `novamind import legacy` (file checks, --timezone)."""

from __future__ import annotations

import csv
import json
from datetime import UTC
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pandas as pd
import pytest

from mappings import cli
from mappings.fhir_client import FhirClient
from mappings.frames import FrameMapper
from mappings.importer import import_wearables
from mappings.legacy import LEGACY_CLIENT, MAX_BYTES, NO_TIMEZONE, parse_file, parse_payload
from mappings.wearables.device import device_full_url
from mappings.wearables.formats import READERS
from mappings.wearables.observation import RECORD_SYSTEM, ObservationBuilder
from mappings.wearables.reading import Reading, Rejection
from terminology import Terminology
from tests.unit.mappings.conftest import TERMINOLOGY, valid_r4
from tests.unit.mappings.test_importer import StandInServer
from twin_engine import frames as tf

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "legacy" / "payload.json"
TWIN = "http://novamind.example.org/fhir/CodeSystem/twin-concepts"


def sample_observations(patient: str = "p1") -> list[dict[str, Any]]:
    builder = ObservationBuilder("legacy", patient)
    return [builder.build(r) for r in parse_file(SAMPLE, NO_TIMEZONE) if isinstance(r, Reading)]


def _rows(name: str) -> dict[str, dict[str, str]]:
    with (TERMINOLOGY / name).open(encoding="utf-8") as f:
        return {row["code"]: row for row in csv.DictReader(f)}


# ---- the Observations -----------------------------------------------------------------------------------------


def test_the_sample_payload_maps_without_rejections() -> None:
    parsed = list(parse_file(SAMPLE, NO_TIMEZONE))
    assert [r for r in parsed if not isinstance(r, Reading)] == []
    assert len(parsed) == 20


def test_every_observation_validates_as_fhir_r4() -> None:
    for obs in sample_observations():
        valid_r4(obs)


def test_every_code_is_a_shipped_loinc_row_or_one_of_our_twin_concepts() -> None:
    loinc, twin = _rows("loinc.csv"), _rows("twin-concepts.csv")
    for obs in sample_observations():
        coding = obs["code"]["coding"][0]
        if coding["system"] == "http://loinc.org":
            assert loinc[coding["code"]]["verification"] != "UNVERIFIED"
        elif coding["system"] == TWIN:
            assert twin[coding["code"]]["abstract"] == "false"


def test_every_observation_passes_the_servers_coding_check_in_reject_mode() -> None:
    from fhir_server.services.observation_check import ObservationCodingCheck

    check = ObservationCodingCheck(Terminology.load_default(), "reject")
    assert [check.issues(obs) for obs in sample_observations() if check.issues(obs)] == []


def test_every_observation_points_at_the_legacy_client_device() -> None:
    devices = {obs["device"]["reference"] for obs in sample_observations("p1")}
    assert devices == {device_full_url(LEGACY_CLIENT, "p1")}


def test_mapping_the_same_payload_twice_gives_the_same_identifiers() -> None:
    first = [o["identifier"] for o in sample_observations()]
    assert first == [o["identifier"] for o in sample_observations()]
    assert len({i[0]["value"] for i in first}) == len(first)
    assert {i[0]["system"] for i in first} == {RECORD_SYSTEM}


def test_a_value_written_14_or_14_0_is_the_same_record() -> None:
    builder = ObservationBuilder("legacy", "p1")

    def key(severity: float) -> str:
        doc = {"symptom_history": [{"date": "2024-05-01", "symptom_type": "phq9", "severity": severity}]}
        (reading,) = parse_payload(doc, "p.json", UTC)
        assert isinstance(reading, Reading)
        return str(builder.build(reading)["identifier"][0]["value"])

    assert key(14) == key(14.0)
    assert key(14) != key(15)


# ---- payload -> Observations -> the twin's frames -------------------------------------------------------------


def _frame_values() -> tuple[pd.DataFrame, tuple[Any, ...]]:
    result = FrameMapper(Terminology.load_default()).to_frame(sample_observations("p1"))
    return result.frame, result.rejected


def _values(frame: pd.DataFrame, metric: str) -> list[tuple[str, float]]:
    rows = frame[frame[tf.METRIC] == metric]
    return [(ts.isoformat(), value) for ts, value in zip(rows[tf.TS], rows[tf.VALUE], strict=True)]


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        (tf.PHQ9, [("2024-05-01T00:00:00+00:00", 14.0), ("2024-05-08T00:00:00+00:00", 11.0)]),
        (tf.GAD7, [("2024-05-01T00:00:00+00:00", 9.0), ("2024-05-08T00:00:00+00:00", 6.0)]),
        (tf.MOOD, [("2024-05-01T00:00:00+00:00", 4.0), ("2024-05-08T19:30:00+00:00", 6.0)]),
        (tf.HOURLY_HR, [("2024-05-01T08:00:00+00:00", 62.0), ("2024-05-01T09:00:00+00:00", 71.0)]),
        (tf.RESTING_HR, [("2024-05-01T00:00:00+00:00", 58.0)]),
        (tf.HRV_MS, [("2024-05-01T00:00:00+00:00", 41.0)]),
        (tf.SLEEP_HOURS, [("2024-05-01T00:00:00+00:00", 7.5)]),
        (tf.STEPS, [("2024-05-01T00:00:00+00:00", 8412.0), ("2024-05-02T00:00:00+00:00", 3500.0)]),
    ],
)
def test_the_payload_reaches_the_twins_frames_with_the_same_values(metric: str, expected: list[Any]) -> None:
    frame, _ = _frame_values()
    assert _values(frame, metric) == expected


def test_what_the_twin_does_not_model_is_reported_by_the_frames_not_lost() -> None:
    _, rejected = _frame_values()
    assert len(rejected) == 6  # sleep quality, energy, stress, HRV SDNN, weight, calories
    assert all("not a measure the twin uses" in r.reason for r in rejected)


# ---- files ----------------------------------------------------------------------------------------------------


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "huge.json"
    with big.open("wb") as f:
        f.truncate(MAX_BYTES + 1)
    (found,) = parse_file(big, UTC)
    assert isinstance(found, Rejection)
    assert "at most 50 MiB" in found.reason


def test_a_file_that_is_not_json_is_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{symptom_history: []")
    (found,) = parse_file(bad, UTC)
    assert isinstance(found, Rejection) and found.reason.startswith("not a readable JSON file")


def test_legacy_is_a_registered_import_format() -> None:
    assert READERS["legacy"] is parse_file


# ---- the importer and the CLI ---------------------------------------------------------------------------------


def _client(server: StandInServer) -> FhirClient:
    return FhirClient("http://fhir.test/fhir", "a-token", transport=httpx.MockTransport(server))


def test_a_payload_is_imported_once_and_a_reimport_adds_nothing() -> None:
    server = StandInServer()
    first = import_wearables("legacy", SAMPLE, "p1", _client(server), zone=NO_TIMEZONE)
    again = import_wearables("legacy", SAMPLE, "p1", _client(server), zone=NO_TIMEZONE)
    assert (first.created, first.devices_created, first.rejected) == (20, 1, 0)
    assert (again.created, again.unchanged) == (0, 20)


def test_a_payload_with_a_rejected_entry_imports_nothing(tmp_path: Path) -> None:
    server = StandInServer()
    doc = json.loads(SAMPLE.read_text())
    doc["symptom_history"].append({"date": "2024-05-09", "symptom_type": "phq9", "severity": 31})
    path = tmp_path / "payload.json"
    path.write_text(json.dumps(doc))
    summary = import_wearables("legacy", path, "p1", _client(server), zone=NO_TIMEZONE)
    assert (summary.imported, summary.rejected, server.transactions) == (False, 1, [])
    assert summary.rejections[0].location == "payload.json symptom_history[9]"


def _naive_payload(tmp_path: Path) -> Path:
    path = tmp_path / "naive.json"
    path.write_text(json.dumps({"biometric_data": {"heart_rate": [{"timestamp": "2024-05-01T08:00:00", "value": 6}]}}))
    return path


def test_the_cli_rejects_times_without_offset_when_no_timezone_is_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["import", "legacy", str(_naive_payload(tmp_path)), "--patient", "p1", "--quiet"])
    out = capsys.readouterr().out
    assert code == 1
    assert "biometric_data.heart_rate[0]: timestamp '2024-05-01T08:00:00' has no UTC offset" in out


def test_the_reader_takes_times_without_offset_in_the_zone_it_is_given(tmp_path: Path) -> None:
    (reading,) = READERS["legacy"](_naive_payload(tmp_path), ZoneInfo("Europe/Berlin"))
    assert isinstance(reading, Reading) and reading.start == "2024-05-01T08:00:00+02:00"


def test_fitbit_keeps_reading_local_times_as_utc_without_a_timezone() -> None:
    from tests.unit.mappings.conftest import FITBIT

    sample = next(iter(sorted(FITBIT.glob("*.json"))))
    assert list(READERS["fitbit"](sample, NO_TIMEZONE)) == list(READERS["fitbit"](sample, UTC))
