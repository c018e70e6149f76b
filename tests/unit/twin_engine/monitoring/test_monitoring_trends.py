import numpy as np
import pandas as pd
import pytest
from scipy import stats

from twin_engine import frames
from twin_engine.monitoring import TooFewPointsError, frame_symptom_trend, symptom_trend


def biweekly(values: list[float]) -> pd.Series:
    return pd.Series(values, index=pd.date_range("2025-01-01", periods=len(values), freq="14D", tz="UTC"))


def test_monotone_phq9_series_gives_a_significant_increasing_trend() -> None:
    trend = symptom_trend(biweekly([5, 7, 8, 10, 11, 13, 15, 16]))
    assert trend.direction == "increasing" and trend.p_value < 0.01 and trend.confidence > 0.99
    assert trend.slope_ci[0] > 0 and trend.slope_ci[0] <= trend.slope_per_day <= trend.slope_ci[1]


def test_noise_gives_no_trend() -> None:
    rng = np.random.default_rng(0)
    trend = symptom_trend(biweekly(list(rng.integers(8, 14, 10).astype(float))))
    assert trend.direction == "none" and trend.slope_ci[0] < 0 < trend.slope_ci[1]


def test_improvement_is_a_decreasing_trend() -> None:
    assert symptom_trend(biweekly([20, 18, 18, 15, 12, 12, 9, 7])).direction == "decreasing"


def test_slope_uses_the_actual_spacing_of_irregular_visits() -> None:
    days = np.array([0, 3, 20, 21, 50, 90])
    idx = pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(days, unit="D")
    trend = symptom_trend(pd.Series(10 + 0.1 * days, index=idx))
    assert trend.slope_per_day == pytest.approx(0.1) and trend.slope_per_week == pytest.approx(0.7)


def test_tied_scores_use_the_tie_corrected_variance() -> None:
    values = [5, 5, 6, 6, 6, 8, 8, 9, 9, 9]
    trend = symptom_trend(biweekly(values))
    n, ties = 10, np.array([2, 3, 2, 3])
    var = (n * (n - 1) * (2 * n + 5) - np.sum(ties * (ties - 1) * (2 * ties + 5))) / 18
    assert trend.z == pytest.approx((trend.s_statistic - 1) / np.sqrt(var))
    assert trend.s_statistic == round(
        stats.kendalltau(np.arange(n), values).statistic
        * np.sqrt((n * (n - 1) / 2) * (n * (n - 1) / 2 - np.sum(ties * (ties - 1) / 2)))
    )


def test_nans_are_dropped_and_too_few_points_is_a_typed_error() -> None:
    assert symptom_trend(biweekly([5, np.nan, 7, 9, np.nan, 12])).n_points == 4
    with pytest.raises(TooFewPointsError):
        symptom_trend(biweekly([5, np.nan, 7, np.nan]))


def test_frame_entry_point_reads_one_subject() -> None:
    s = biweekly([4, 6, 9, 11, 14, 15])
    frame = pd.DataFrame(
        {
            frames.SUBJECT_ID: "p",
            frames.TS: s.index,
            frames.METRIC: frames.PHQ9,
            frames.VALUE: s.to_numpy(),
            frames.UNIT: "{score}",
        }
    )
    assert frame_symptom_trend(frame, "p", frames.PHQ9).direction == "increasing"
