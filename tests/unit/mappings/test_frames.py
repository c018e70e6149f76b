"""FHIR <-> twin observation frames: metric mapping, unit normalisation, grids and the round trip."""

from __future__ import annotations

import csv
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fhir.resources.R4B import get_fhir_model_class

from mappings.frames import FrameMapper, UnmappableMetric, daily_grid, hourly_grid
from mappings.wearables.measures import measure
from terminology import Terminology
from tests.unit.mappings.conftest import TERMINOLOGY
from tests.unit.mappings.helpers import all_sample_observations
from twin_engine import frames as tf
from twin_engine.forecast.grid import to_grid
from twin_engine.simulate.cohort import simulate_cohort
from twin_engine.simulate.config import SimulatorConfig

UNMAPPED = (tf.MEDICATION_ON,)
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


@pytest.fixture(scope="module")
def mapper() -> FrameMapper:
    return FrameMapper(Terminology.load_default())


def _codes(name: str) -> dict[str, dict[str, str]]:
    with (TERMINOLOGY / name).open(encoding="utf-8") as f:
        return {row["code"]: row for row in csv.DictReader(f)}


def canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame in a comparable form: plain strings, rows in (subject, ts, metric) order."""
    f = tf.validate_observations(frame)
    f = f.assign(**{c: f[c].astype(str) for c in (tf.SUBJECT_ID, tf.METRIC, tf.UNIT)})
    return f.sort_values([tf.SUBJECT_ID, tf.TS, tf.METRIC], kind="stable", ignore_index=True)


def mapped_part(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[~frame[tf.METRIC].astype(str).isin(UNMAPPED)]


def random_frame(seed: int, rows: int = 400) -> pd.DataFrame:
    """Arbitrary rows of every writable metric: odd timestamps, long fractions, several patients."""
    rng = np.random.default_rng(seed)
    metrics = np.array([tf.PHQ9, tf.GAD7, tf.SLEEP_HOURS, tf.HRV_MS, tf.RESTING_HR, tf.STEPS, tf.HOURLY_HR])
    metric = rng.choice(metrics, rows)
    value = rng.uniform(0, 200, rows)
    whole = np.isin(metric, [tf.PHQ9, tf.GAD7, tf.STEPS])
    value[whole] = np.rint(value[whole] % 22)
    value[metric == tf.PHQ9] += rng.choice([0.0, 0.5], int((metric == tf.PHQ9).sum()))  # a mean of reports
    seconds = rng.integers(1_600_000_000, 1_800_000_000, rows)
    micros = rng.integers(0, 1_000_000, rows) * rng.integers(0, 2, rows)
    return pd.DataFrame(
        {
            tf.SUBJECT_ID: rng.choice(["p-1", "p.2", "Patient3"], rows),
            tf.TS: pd.to_datetime(seconds * 1_000_000 + micros, unit="us", utc=True),
            tf.METRIC: metric,
            tf.VALUE: value,
            tf.UNIT: pd.Series(metric).map(tf.UNITS),
        }
    )


def obs(code: dict[str, str], value: dict[str, Any], when: dict[str, Any], subject: str = "p1") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [code]},
        "subject": {"reference": f"Patient/{subject}"},
        **when,
        **value,
    }


def coding(key: str) -> dict[str, str]:
    m = measure(key)
    return {"system": m.system, "code": m.code}


def quantity(value: float, unit: str) -> dict[str, Any]:
    return {"valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}}


def at(text: str) -> dict[str, Any]:
    return {"effectiveDateTime": text}


# ---- round trip ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_simulated_frames_survive_frames_to_fhir_to_frames(mapper: FrameMapper, seed: int) -> None:
    cohort = simulate_cohort(SimulatorConfig(n_patients=3, days=30, seed=seed, hourly=seed % 2 == 1))
    expected = mapped_part(cohort.observations)
    back = mapper.to_frame(mapper.to_observations(expected))
    assert back.rejected == ()
    pd.testing.assert_frame_equal(canonical(back.frame), canonical(expected))


@pytest.mark.parametrize("seed", range(4))
def test_arbitrary_frames_survive_frames_to_fhir_to_frames(mapper: FrameMapper, seed: int) -> None:
    frame = random_frame(seed)
    back = mapper.to_frame(mapper.to_observations(frame))
    pd.testing.assert_frame_equal(canonical(back.frame), canonical(frame))


def test_every_written_observation_is_valid_r4(mapper: FrameMapper) -> None:
    frame = mapped_part(simulate_cohort(SimulatorConfig(n_patients=2, days=10, seed=7, hourly=True)).observations)
    for resource in mapper.to_observations(frame):
        get_fhir_model_class("Observation").model_validate(resource)


def test_every_written_loinc_code_is_a_verified_row_of_the_tables(mapper: FrameMapper) -> None:
    loinc = _codes("loinc.csv")
    frame = mapped_part(simulate_cohort(SimulatorConfig(n_patients=2, days=10, seed=7, hourly=True)).observations)
    written = {(c["system"], c["code"]) for o in mapper.to_observations(frame) for c in o["code"]["coding"]}
    for system, code in written:
        if system == "http://loinc.org":
            assert loinc[code]["verification"] != "UNVERIFIED"


def test_every_written_unit_is_in_the_ucum_table(mapper: FrameMapper) -> None:
    ucum = _codes("ucum.csv")
    observations = mapper.to_observations(random_frame(11))
    assert {o["valueQuantity"]["code"] for o in observations if "valueQuantity" in o} <= set(ucum)


def test_medication_flags_are_refused_because_they_name_no_drug(mapper: FrameMapper) -> None:
    frame = simulate_cohort(SimulatorConfig(n_patients=2, days=20, seed=3)).observations
    with pytest.raises(UnmappableMetric, match=tf.MEDICATION_ON):
        mapper.to_observations(frame)


def test_mood_ratings_are_written_with_the_twin_concepts_code(mapper: FrameMapper) -> None:
    frame = pd.DataFrame(
        {tf.SUBJECT_ID: ["p1"], tf.TS: [pd.Timestamp("2026-01-05T20:00:00Z")], tf.METRIC: [tf.MOOD], tf.VALUE: [6.0]}
    )
    (written,) = mapper.to_observations(frame)
    assert written["code"]["coding"][0]["code"] == measure("mood-rating").code
    assert (written["valueInteger"], written["category"][0]["coding"][0]["code"]) == (6, "survey")


def test_unmapped_metrics_can_be_skipped_explicitly(mapper: FrameMapper) -> None:
    frame = simulate_cohort(SimulatorConfig(n_patients=2, days=20, seed=3)).observations
    assert len(mapper.to_observations(frame, skip_unmapped=True)) == len(mapped_part(frame))


def test_daily_measures_are_written_as_one_day_periods(mapper: FrameMapper) -> None:
    frame = pd.DataFrame(
        {
            tf.SUBJECT_ID: ["p1"],
            tf.TS: [pd.Timestamp("2026-01-05T07:00:00Z")],
            tf.METRIC: [tf.STEPS],
            tf.VALUE: [8000.0],
        }
    )
    (written,) = mapper.to_observations(frame)
    assert written["effectivePeriod"] == {"start": "2026-01-05T07:00:00Z", "end": "2026-01-06T07:00:00Z"}


def test_whole_questionnaire_totals_are_written_as_integers(mapper: FrameMapper) -> None:
    frame = pd.DataFrame(
        {tf.SUBJECT_ID: ["p1"], tf.TS: [pd.Timestamp("2026-01-05T07:00:00Z")], tf.METRIC: [tf.PHQ9], tf.VALUE: [14.0]}
    )
    (written,) = mapper.to_observations(frame)
    assert written["valueInteger"] == 14
    assert _codes("loinc.csv")[written["code"]["coding"][0]["code"]]["role"] == "total score"


# ---- FHIR -> frame -------------------------------------------------------------------------------------------


def test_sleep_in_minutes_becomes_hours(mapper: FrameMapper) -> None:
    resource = obs(coding("sleep-duration"), quantity(450, "min"), {"effectivePeriod": {"start": "2026-01-05"}})
    frame = mapper.to_frame([resource]).frame
    assert frame[tf.VALUE].tolist() == [7.5]
    assert frame[tf.UNIT].tolist() == ["h"]


def test_hrv_in_seconds_becomes_milliseconds(mapper: FrameMapper) -> None:
    resource = obs(coding("hrv-rmssd"), quantity(0.042, "s"), at("2026-01-05T03:00:00Z"))
    assert mapper.to_frame([resource]).frame[tf.VALUE].tolist() == [pytest.approx(42.0)]


def test_hrv_over_a_whole_day_is_the_daily_metric(mapper: FrameMapper) -> None:
    when = {"effectivePeriod": {"start": "2026-01-05", "end": "2026-01-05"}}
    frame = mapper.to_frame([obs(coding("hrv-rmssd"), quantity(40, "ms"), when)]).frame
    assert frame[tf.METRIC].tolist() == [tf.HRV_MS]


def test_an_hrv_sample_is_the_hourly_metric(mapper: FrameMapper) -> None:
    frame = mapper.to_frame([obs(coding("hrv-rmssd"), quantity(40, "ms"), at("2026-01-05T03:10:00Z"))]).frame
    assert frame[tf.METRIC].tolist() == [tf.HOURLY_HRV_MS]


def test_timestamps_with_offsets_become_utc(mapper: FrameMapper) -> None:
    frame = mapper.to_frame([obs(coding("heart-rate"), quantity(60, "/min"), at("2026-01-05T09:00:00+02:00"))]).frame
    assert frame[tf.TS].tolist() == [pd.Timestamp("2026-01-05T07:00:00Z")]


def test_beats_per_minute_is_accepted_for_heart_rate(mapper: FrameMapper) -> None:
    resource = obs(coding("resting-heart-rate"), quantity(55, "{beats}/min"), at("2026-01-05T07:00:00Z"))
    assert mapper.to_frame([resource]).frame[tf.METRIC].tolist() == [tf.RESTING_HR]


def test_a_wrong_unit_is_rejected_with_a_reason(mapper: FrameMapper) -> None:
    resource = obs(coding("heart-rate"), quantity(1, "Cel"), at("2026-01-05T07:00:00Z")) | {"id": "o1"}
    (rejected,) = mapper.to_frame([resource]).rejected
    assert rejected.resource == "Observation/o1"
    assert "unit 'Cel'" in rejected.reason


def test_hrv_sdnn_is_not_read_as_rmssd(mapper: FrameMapper) -> None:
    resource = obs(coding("hrv-sdnn"), quantity(50, "ms"), at("2026-01-05T07:00:00Z"))
    result = mapper.to_frame([resource])
    assert result.frame.empty
    assert "not a measure the twin uses" in result.rejected[0].reason


def test_step_samples_are_summed_per_utc_day(mapper: FrameMapper) -> None:
    samples = [
        obs(coding("steps"), quantity(n, "{steps}"), at(t))
        for n, t in ((100, "2026-01-05T08:00:00Z"), (250, "2026-01-05T18:00:00Z"), (40, "2026-01-06T01:00:00Z"))
    ]
    frame = mapper.to_frame(samples).frame
    assert frame[tf.VALUE].tolist() == [350.0, 40.0]
    assert frame[tf.TS].tolist() == [pd.Timestamp("2026-01-05T00:00:00Z"), pd.Timestamp("2026-01-06T00:00:00Z")]


def test_a_daily_step_total_wins_over_that_days_samples(mapper: FrameMapper) -> None:
    total = obs(coding("steps-daily"), quantity(9000, "/d"), {"effectivePeriod": {"start": "2026-01-05T00:00:00Z"}})
    sample = obs(coding("steps"), quantity(100, "{steps}"), at("2026-01-05T08:00:00Z"))
    assert mapper.to_frame([sample, total]).frame[tf.VALUE].tolist() == [9000.0]


def test_entered_in_error_observations_are_rejected(mapper: FrameMapper) -> None:
    resource = obs(coding("heart-rate"), quantity(60, "/min"), at("2026-01-05T07:00:00Z")) | {
        "status": "entered-in-error"
    }
    assert mapper.to_frame([resource]).frame.empty


def test_questionnaire_totals_become_score_metrics(mapper: FrameMapper) -> None:
    loinc = _codes("loinc.csv")
    gad7_total = next(
        c for c, r in loinc.items() if r["instrument_or_domain"] == "GAD-7" and r["role"] == "total score"
    )
    resource = obs({"system": "http://loinc.org", "code": gad7_total}, {"valueInteger": 9}, at("2026-01-05"))
    frame = mapper.to_frame([resource]).frame
    assert (frame[tf.METRIC].tolist(), frame[tf.VALUE].tolist()) == ([tf.GAD7], [9.0])


def test_every_shared_wearable_sample_maps_or_is_rejected_with_a_reason(mapper: FrameMapper) -> None:
    observations = all_sample_observations()
    result = mapper.to_frame(observations)
    assert not result.frame.empty
    assert all(r.reason for r in result.rejected)
    assert set(result.frame[tf.METRIC]) <= set(tf.UNITS)


# ---- medication ----------------------------------------------------------------------------------------------


def _rx(drug_class: str) -> str:
    return next(c for c, r in _codes("rxnorm.csv").items() if r["drug_class"] == drug_class)


def statement(code: str, period: dict[str, str], status: str = "active") -> dict[str, Any]:
    resource = {
        "resourceType": "MedicationStatement",
        "status": status,
        "medicationCodeableConcept": {
            "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": code}]
        },
        "subject": {"reference": "Patient/p1"},
        "effectivePeriod": period,
    }
    get_fhir_model_class("MedicationStatement").model_validate(resource)
    return resource


def test_an_antidepressant_statement_switches_the_flag_on_at_its_start(mapper: FrameMapper) -> None:
    frame = mapper.to_frame([statement(_rx("SSRI"), {"start": "2026-02-01"})]).frame
    assert frame[[tf.METRIC, tf.VALUE]].values.tolist() == [[tf.MEDICATION_ON, 1.0]]
    assert frame[tf.TS].tolist() == [pd.Timestamp("2026-02-01T00:00:00Z")]


def test_a_stopped_antidepressant_switches_the_flag_off_at_its_end(mapper: FrameMapper) -> None:
    frame = mapper.to_frame([statement(_rx("SNRI"), {"start": "2026-02-01", "end": "2026-03-01"}, "completed")]).frame
    assert frame[tf.VALUE].tolist() == [1.0, 0.0]


def test_a_mood_stabiliser_is_not_an_antidepressant(mapper: FrameMapper) -> None:
    result = mapper.to_frame([statement(_rx("mood stabilizer"), {"start": "2026-02-01"})])
    assert result.frame.empty
    assert "not an antidepressant" in result.rejected[0].reason


def test_a_medication_request_starts_the_flag_when_authored(mapper: FrameMapper) -> None:
    request = {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": _rx("TCA")}]
        },
        "subject": {"reference": "Patient/p1"},
        "authoredOn": "2026-02-03T10:00:00Z",
    }
    get_fhir_model_class("MedicationRequest").model_validate(request)
    frame = mapper.to_frame([request]).frame
    assert frame[tf.TS].tolist() == [pd.Timestamp("2026-02-03T10:00:00Z")]


def test_an_intended_medication_does_not_switch_the_flag_on(mapper: FrameMapper) -> None:
    result = mapper.to_frame([statement(_rx("SSRI"), {"start": "2026-02-01"}, "intended")])
    assert result.frame.empty


# ---- grids ---------------------------------------------------------------------------------------------------


def test_daily_grid_has_every_day_with_explicit_missing_values() -> None:
    frame = pd.DataFrame(
        {
            tf.SUBJECT_ID: ["p1", "p1"],
            tf.TS: pd.to_datetime(["2026-01-01T08:00:00Z", "2026-01-04T08:00:00Z"]),
            tf.METRIC: [tf.PHQ9, tf.PHQ9],
            tf.VALUE: [10.0, 12.0],
        }
    )
    grid = daily_grid(frame)
    assert len(grid) == 4
    assert grid[tf.PHQ9].isna().tolist() == [False, True, True, False]


def test_daily_grid_averages_several_reports_on_one_day() -> None:
    frame = pd.DataFrame(
        {
            tf.SUBJECT_ID: ["p1", "p1"],
            tf.TS: pd.to_datetime(["2026-01-01T08:00:00Z", "2026-01-01T20:00:00Z"]),
            tf.METRIC: [tf.MOOD, tf.MOOD],
            tf.VALUE: [4.0, 6.0],
        }
    )
    assert daily_grid(frame)[tf.MOOD].tolist() == [5.0]


def test_daily_grid_holds_the_medication_state_until_it_changes() -> None:
    frame = pd.DataFrame(
        {
            tf.SUBJECT_ID: ["p1"] * 3,
            tf.TS: pd.to_datetime(["2026-01-01T08:00:00Z", "2026-01-02T08:00:00Z", "2026-01-04T00:00:00Z"]),
            tf.METRIC: [tf.PHQ9, tf.MEDICATION_ON, tf.MEDICATION_ON],
            tf.VALUE: [10.0, 1.0, 0.0],
        }
    )
    assert daily_grid(frame)[tf.MEDICATION_ON].tolist()[1:] == [1.0, 1.0, 0.0]


def test_daily_grid_agrees_with_the_twin_engines_grid() -> None:
    frame = simulate_cohort(SimulatorConfig(n_patients=3, days=25, seed=5)).observations
    ours = daily_grid(frame, [tf.PHQ9, *tf.DAILY_COVARIATES])
    theirs = to_grid(frame, tf.PHQ9)
    for i, subject in enumerate(theirs.subject_ids):
        days = int(theirs.length[i])
        mine = ours.loc[subject].to_numpy(dtype=np.float32)[:days, :-1]  # medication compared below
        np.testing.assert_allclose(mine, theirs.values[i, :days, :-1], rtol=1e-6, equal_nan=True)


def test_hourly_grid_has_every_hour_with_explicit_missing_values() -> None:
    frame = pd.DataFrame(
        {
            tf.SUBJECT_ID: ["p1", "p1"],
            tf.TS: pd.to_datetime(["2026-01-01T08:15:00Z", "2026-01-01T11:40:00Z"]),
            tf.METRIC: [tf.HOURLY_HR, tf.HOURLY_HR],
            tf.VALUE: [60.0, 70.0],
        }
    )
    grid = hourly_grid(frame)
    assert grid.index.get_level_values(tf.TS).tolist() == list(
        pd.date_range("2026-01-01T08:00:00Z", periods=4, freq="h")
    )
    assert grid[tf.HOURLY_HR].isna().tolist() == [False, True, True, False]


def test_grids_keep_patients_apart() -> None:
    frame = pd.DataFrame(
        {
            tf.SUBJECT_ID: ["a", "b"],
            tf.TS: pd.to_datetime(["2026-01-01T08:00:00Z", "2026-01-03T08:00:00Z"]),
            tf.METRIC: [tf.PHQ9, tf.PHQ9],
            tf.VALUE: [1.0, 2.0],
        }
    )
    grid = daily_grid(frame)
    assert grid.index.tolist() == [
        ("a", pd.Timestamp("2026-01-01", tz="UTC")),
        ("b", pd.Timestamp("2026-01-03", tz="UTC")),
    ]


def test_daily_medication_state_agrees_with_the_twin_engine_once_started() -> None:
    frame = simulate_cohort(SimulatorConfig(n_patients=6, days=40, seed=2, medication_fraction=1.0)).observations
    ours = daily_grid(frame, [tf.PHQ9, *tf.DAILY_COVARIATES])
    theirs = to_grid(frame, tf.PHQ9)
    started = 0
    for i, subject in enumerate(theirs.subject_ids):
        mine = ours.loc[subject, tf.MEDICATION_ON].to_numpy()
        on = ~np.isnan(mine)
        started += int(on.any())
        np.testing.assert_array_equal(mine[on], theirs.values[i, : len(mine), -1][on])
    assert started > 0


def test_writing_the_same_frame_twice_gives_the_same_identifiers(mapper: FrameMapper) -> None:
    frame = random_frame(3)
    first = [o["identifier"] for o in mapper.to_observations(frame)]
    assert first == [o["identifier"] for o in mapper.to_observations(frame.sample(frac=1.0, random_state=1))]
    assert len({i[0]["value"] for i in first}) == len(first)


def test_something_that_is_not_a_resource_is_rejected(mapper: FrameMapper) -> None:
    (rejected,) = mapper.to_frame([["not", "a", "resource"]]).rejected  # type: ignore[list-item]
    assert rejected.resource == "[0]"
