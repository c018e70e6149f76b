"""Benjamini–Hochberg, the common timeline and prewhitening: the pieces the link tests stand on."""

import numpy as np
import pandas as pd

from twin_engine import frames
from twin_engine.correlations.fdr import benjamini_hochberg
from twin_engine.correlations.timeline import DAY, HOUR, align, reports_per_active_day
from twin_engine.correlations.whitening import whiten


def _ar1(n: int, phi: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    e = rng.standard_normal(n)
    x = np.zeros(n)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    return x, e


def _rows(metric: str, times: list[str], values: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            frames.SUBJECT_ID: "p",
            frames.TS: pd.to_datetime(times, utc=True),
            frames.METRIC: metric,
            frames.VALUE: values,
            frames.UNIT: "",
        }
    )


def test_benjamini_hochberg_adjusts_by_rank_and_rejects_at_q() -> None:
    # Sorted: 0.01, 0.03, 0.04, 0.5 -> p*m/rank = 0.04, 0.06, 0.0533, 0.5 -> step-up minimum from the end.
    q_values, rejected = benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.5]), 0.05)
    np.testing.assert_allclose(q_values, [0.04, 0.16 / 3, 0.16 / 3, 0.5])
    assert rejected.tolist() == [True, False, False, False]


def test_benjamini_hochberg_never_rejects_a_missing_p_value() -> None:
    q_values, rejected = benjamini_hochberg(np.array([0.001, np.nan]), 0.05)
    assert rejected.tolist() == [True, False]
    assert np.isnan(q_values[1])


def test_values_in_the_same_day_are_averaged_and_empty_days_stay_missing() -> None:
    obs = _rows(frames.MOOD, ["2025-01-01T08:00Z", "2025-01-01T20:00Z", "2025-01-03T09:00Z"], [4.0, 6.0, 7.0])
    timeline = align(obs, (frames.MOOD,), DAY)
    np.testing.assert_array_equal(timeline.values[frames.MOOD], [5.0, np.nan, 7.0])
    (coverage,) = timeline.coverage()
    assert (coverage.observed, coverage.span) == (2, 3)


def test_hourly_alignment_keeps_each_report_in_its_hour() -> None:
    obs = _rows(frames.ANXIETY, ["2025-01-01T08:10Z", "2025-01-01T11:50Z"], [3.0, 5.0])
    assert align(obs, (frames.ANXIETY,), HOUR).values[frames.ANXIETY][[0, 3]].tolist() == [3.0, 5.0]


def test_experience_sampling_is_told_from_daily_ratings_by_reports_per_day() -> None:
    obs = _rows(frames.MOOD, ["2025-01-01T08:00Z", "2025-01-01T12:00Z", "2025-01-01T18:00Z"], [4.0, 5.0, 6.0])
    assert reports_per_active_day(obs, frames.MOOD) == 3.0


def test_prewhitening_leaves_white_innovations_that_track_the_true_ones_despite_gaps() -> None:
    rng = np.random.default_rng(4)
    x, e = _ar1(1500, 0.7, rng)
    x[rng.random(1500) < 0.25] = np.nan
    w = whiten(x, period=7, max_order=7)
    assert w is not None and w.order >= 1
    v = w.innovations
    pairs = np.isfinite(v[1:]) & np.isfinite(v[:-1])
    assert abs(np.corrcoef(v[1:][pairs], v[:-1][pairs])[0, 1]) < 0.06
    seen = np.isfinite(v)
    assert np.corrcoef(v[seen], e[seen])[0, 1] > 0.9


def test_a_stream_with_too_few_values_is_not_modelled() -> None:
    values = np.full(100, np.nan)
    values[:5] = [1.0, 2.0, 3.0, 2.0, 1.0]
    assert whiten(values, period=7, max_order=7) is None


def test_a_weekly_rhythm_is_removed_and_permutations_stay_within_weekday() -> None:
    rng = np.random.default_rng(8)
    x, _ = _ar1(180, 0.3, rng)
    x += np.where(np.arange(180) % 7 >= 5, -1.5, 0.6)  # quieter weekends
    w = whiten(x, period=7, max_order=7)
    assert w is not None and w.period == 7


def test_a_stream_without_weekly_rhythm_keeps_its_weekday_means_and_shuffles_freely() -> None:
    x, _ = _ar1(180, 0.3, np.random.default_rng(8))
    w = whiten(x, period=7, max_order=7)
    assert w is not None and w.period is None
