import dataclasses

import numpy as np
import pandas as pd
import pytest

from twin_engine import frames
from twin_engine.early_warning import EarlyWarningConfig, assess
from twin_engine.early_warning.evaluation import calibrate_on, calibration_cohort
from twin_engine.early_warning.rule import CalibratedRule, stretch_maxima, warning_scores
from twin_engine.early_warning.series import DailySeries, daily_series
from twin_engine.simulate.transitions import TransitionCohort, TransitionConfig, simulate_transitions


@pytest.fixture(scope="module")
def rule() -> CalibratedRule:
    return calibrate_on(calibration_cohort(400, 240, seed=11, reports_per_day=5), EarlyWarningConfig())


def daily(cohort: TransitionCohort) -> DailySeries:
    return daily_series(
        cohort.observations, start=cohort.start, days=cohort.config.days, subject_ids=cohort.subject_ids
    )


def test_calibrated_threshold_gives_about_the_nominal_false_alarm_rate_on_fresh_controls(rule: CalibratedRule) -> None:
    fresh = calibration_cohort(400, 240, seed=12, reports_per_day=5)
    peaks = stretch_maxima(
        rule.score(warning_scores(daily(fresh).mean, rule.config)), fresh.pseudo_ramp_start, fresh.pseudo_onset_day
    )
    assert 0.05 <= float((peaks > rule.threshold).mean()) <= 0.16


def test_transition_patients_alarm_more_often_than_controls(rule: CalibratedRule) -> None:
    cohort = simulate_transitions(TransitionConfig(n_transition=150, n_control=150, seed=13))
    peaks = stretch_maxima(
        rule.score(warning_scores(daily(cohort).mean, rule.config)), cohort.pseudo_ramp_start, cohort.pseudo_onset_day
    )
    hit = peaks > rule.threshold
    assert hit[cohort.transitions].mean() > 2 * hit[~cohort.transitions].mean()


def test_daily_series_averages_reports_and_marks_silent_days_nan() -> None:
    ts = pd.to_datetime(["2025-01-01T09:00Z", "2025-01-01T21:00Z", "2025-01-03T09:00Z"])
    frame = pd.DataFrame(
        {
            frames.SUBJECT_ID: "p",
            frames.TS: ts,
            frames.METRIC: frames.MOOD,
            frames.VALUE: [4.0, 6.0, 7.0],
            frames.UNIT: "{score}",
        }
    )
    d = daily_series(frame)
    assert d.mean[0, 0] == 5.0 and np.isnan(d.mean[0, 1]) and d.count[0].tolist() == [2, 0, 1]


def test_assessment_is_frozen_and_carries_no_nan(rule: CalibratedRule) -> None:
    cohort = simulate_transitions(TransitionConfig(n_transition=2, n_control=2, seed=14))
    first_days = cohort.observations[cohort.observations[frames.TS] < cohort.start + pd.Timedelta(days=150)]
    out = assess(first_days, rule)
    assert len(out) == 4 and out[0].metric == frames.MOOD
    for a in out:
        values = [v for v in dataclasses.asdict(a).values() if isinstance(v, float)]
        assert all(np.isfinite(values))
        assert a.alarm == (a.score is not None and a.score > a.threshold)
    with pytest.raises(dataclasses.FrozenInstanceError):
        out[0].alarm = True  # type: ignore[misc]
