import time

import numpy as np
import pandas as pd
import pytest

from twin_engine import frames
from twin_engine.errors import InsufficientDataError, TwinEngineError
from twin_engine.simulate import SimulatedCohort, SimulatorConfig, oracle_quantiles, simulate_cohort
from twin_engine.simulate import config as cfg


def test_same_seed_same_cohort_different_seed_different_cohort() -> None:
    a = simulate_cohort(SimulatorConfig(n_patients=5, days=40, seed=1))
    b = simulate_cohort(SimulatorConfig(n_patients=5, days=40, seed=1))
    c = simulate_cohort(SimulatorConfig(n_patients=5, days=40, seed=2))
    pd.testing.assert_frame_equal(a.observations, b.observations)
    assert not np.allclose(a.latent["d"], c.latent["d"])


def test_observations_satisfy_the_frame_contract(cohort: SimulatedCohort) -> None:
    out = frames.validate_observations(cohort.observations)
    assert len(out) == len(cohort.observations)
    metrics = set(out[frames.METRIC].astype(str))
    assert {frames.PHQ9, frames.GAD7, frames.MOOD, frames.SLEEP_HOURS, frames.HRV_MS, frames.STEPS} <= metrics
    phq = out[out[frames.METRIC] == frames.PHQ9][frames.VALUE]
    assert phq.between(0, 27).all() and (phq == phq.round()).all()


def test_sleep_to_next_day_depression_coupling_is_recoverable(cohort: SimulatedCohort) -> None:
    # Regress the latent AR residual on yesterday's sleep deviation: the slope must be the planted one.
    d, s, mean = cohort.latent["d"], cohort.latent["s"], cohort.params.mean_d
    dev = d - mean
    y = dev[:, 1:].ravel()
    x = np.column_stack([dev[:, :-1].ravel(), s[:, :-1].ravel(), np.ones(y.size)])
    coef = np.linalg.lstsq(x, y, rcond=None)[0]
    assert coef[1] == pytest.approx(cfg.SLEEP_TO_DEPRESSION, abs=0.15)


def test_planted_effects_are_recorded() -> None:
    effects = cfg.planted_effects(hourly=True)
    pairs = {(e.cause, e.effect, e.lag_hours) for e in effects}
    assert (frames.SLEEP_HOURS, frames.PHQ9, 24) in pairs
    assert (frames.HRV_MS, frames.GAD7, 24) in pairs
    assert (frames.HOURLY_HRV_MS, frames.HOURLY_HR, cfg.HOURLY_LAG_HOURS) in pairs


def test_relapses_are_preceded_by_critical_slowing_down() -> None:
    c = simulate_cohort(SimulatorConfig(n_patients=60, days=300, seed=4, relapse_rate_per_year=2.0))
    truth = c.relapse_truth()
    assert len(truth) > 10
    for _, row in truth.head(10).iterrows():
        i = c.subject_ids.index(row[frames.SUBJECT_ID])
        onset = int(row["onset_day"])
        assert c.params.phi_d[i, onset - 1] > c.params.phi_d[i, onset - c.config.warning_days - 2]
        assert c.params.mean_d[i, onset] >= c.params.mean_d[i, onset - 1]


def test_medication_exposure_follows_phenotype(cohort: SimulatedCohort) -> None:
    med = cohort.medication_truth()
    assert len(med) > 0
    expected = med["phenotype"].map(dict(zip(cfg.PHENOTYPES, cfg.PHENOTYPE_EXPOSURE, strict=True)))
    assert np.allclose(med["exposure"], expected)
    obs = cohort.observations
    starts = obs[obs[frames.METRIC] == frames.MEDICATION_ON]
    assert len(starts) == len(med)


def test_experience_sampling_gives_several_mood_reports_a_day() -> None:
    c = simulate_cohort(SimulatorConfig(n_patients=10, days=30, seed=3, esm_fraction=1.0))
    mood = c.observations[c.observations[frames.METRIC] == frames.MOOD]
    per_day = mood.groupby([mood[frames.SUBJECT_ID].astype(str), mood[frames.TS].dt.date]).size()
    assert per_day.max() == c.config.esm_reports_per_day


def test_hourly_streams_are_optional() -> None:
    c = simulate_cohort(SimulatorConfig(n_patients=4, days=10, seed=3, hourly=True, wearable_fraction=1.0))
    assert frames.HOURLY_HR in set(c.observations[frames.METRIC].astype(str))


def test_thousand_patient_years_simulate_in_seconds() -> None:
    start = time.perf_counter()
    simulate_cohort(SimulatorConfig(n_patients=1000, days=365, seed=0))
    assert time.perf_counter() - start < 10.0


def test_degenerate_config_is_refused() -> None:
    with pytest.raises(TwinEngineError):
        simulate_cohort(SimulatorConfig(n_patients=0))


def test_oracle_beats_naive_and_refuses_running_past_the_end(cohort: SimulatedCohort) -> None:
    subjects = np.arange(40)
    origin = np.full(40, 100)
    q = oracle_quantiles(cohort, subjects, origin, 14, frames.PHQ9, np.array([0.1, 0.5, 0.9]))
    truth = cohort.potential[frames.PHQ9][:, 101:115]
    naive = cohort.potential[frames.PHQ9][:, 100:101]
    assert np.abs(q[:, :, 1] - truth).mean() < np.abs(naive - truth).mean()
    assert np.all(q[:, :, 0] <= q[:, :, 2])
    with pytest.raises(InsufficientDataError):
        oracle_quantiles(cohort, subjects, np.full(40, 150), 14, frames.PHQ9, np.array([0.5]))
