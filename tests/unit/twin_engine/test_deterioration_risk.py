"""Deterioration risk is the upper tail of the calibrated forecast distribution."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from twin_engine import frames
from twin_engine.forecast.base import QUANTILES, Forecast
from twin_engine.forecast.risk import exceedance_probability, threshold_risk


def _normal_forecast(means: list[float], sd: float = 3.0) -> Forecast:
    q = np.array([[stats.norm.ppf(QUANTILES, loc=m, scale=sd) for m in means]])
    return Forecast(
        metric=frames.PHQ9,
        subject_ids=("p",),
        origins=(pd.Timestamp("2025-01-01", tz="UTC"),),
        horizon=len(means),
        quantile_levels=QUANTILES,
        quantiles=np.clip(q, 0, 27),
        reliability=("A",),
        model="test",
    )


def test_the_probability_inside_the_quantiles_matches_the_distribution() -> None:
    q = stats.norm.ppf(QUANTILES, loc=12, scale=3)[None, :]
    assert exceedance_probability(q, QUANTILES, 15, (0, 27))[0] == pytest.approx(stats.norm.sf(14.5, 12, 3), abs=0.01)


def test_integer_scores_count_the_threshold_itself() -> None:
    q = np.full((1, len(QUANTILES)), 15.0)  # 95% sure to score exactly 15; the tails run to the bounds
    assert exceedance_probability(q, QUANTILES, 15, (0, 27))[0] > 0.95
    assert exceedance_probability(q, QUANTILES, 16, (0, 27))[0] < 0.05


def test_a_higher_threshold_is_never_more_likely() -> None:
    q = stats.norm.ppf(QUANTILES, loc=14, scale=4)[None, :]
    p = [exceedance_probability(q, QUANTILES, t, (0, 27))[0] for t in (10, 15, 20, 25)]
    assert p == sorted(p, reverse=True)


def test_peak_risk_is_the_worst_day_and_names_it() -> None:
    risk = threshold_risk(_normal_forecast([10, 16, 12]), 15)
    assert risk.peak_day.tolist() == [2]
    assert risk.peak[0] == pytest.approx(risk.daily[0, 1])
    assert risk.at_horizon[0] == pytest.approx(risk.daily[0, 2])


def test_risk_can_be_limited_to_the_first_days() -> None:
    assert threshold_risk(_normal_forecast([10, 16, 12]), 15, horizon=1).daily.shape == (1, 1)
