"""Trend detection on symptom scores: Mann–Kendall test with Sen's (Theil–Sen) slope and its interval.

Built for sparse, irregular, tied data such as biweekly PHQ-9 totals: the test uses only the order of the
scores in time (so spacing does not matter), its variance is corrected for tied scores, and the slope is
the median of pairwise slopes over the *actual* time differences (points per day, reported per week too).
The slope interval is Sen's distribution-free one (Gilbert, "Statistical Methods for Environmental
Pollution Monitoring", 1987, §16.5), from the same variance. Limitation: serial correlation inflates the
test's significance; for daily series, thin or prewhiten first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from twin_engine.monitoring.series import clean_series, series_from_frame

_MIN_POINTS = 4
_SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class SymptomTrend:
    """Mann–Kendall / Theil–Sen summary. Invariants: finite numbers; CI contains the slope."""

    n_points: int
    span_days: float
    s_statistic: int
    tau: float
    z: float
    p_value: float
    confidence: float  # 1 - p_value: how sure the data make us that there is a monotone trend
    slope_per_day: float
    slope_ci: tuple[float, float]
    ci_level: float
    direction: Literal["increasing", "decreasing", "none"]

    @property
    def slope_per_week(self) -> float:
        return 7.0 * self.slope_per_day


def symptom_trend(series: pd.Series, alpha: float = 0.05) -> SymptomTrend:
    """Test a score series (tz-aware DatetimeIndex; NaNs dropped, same-time duplicates averaged)."""
    values = clean_series(series, min_points=_MIN_POINTS)
    x = values.to_numpy()
    t = (values.index.asi8 - values.index.asi8[0]) / 1e9 / _SECONDS_PER_DAY
    n = x.size
    i, j = np.triu_indices(n, 1)
    s = int(np.sign(x[j] - x[i]).sum())
    var_s = _variance_of_s(x)
    z = 0.0 if var_s <= 0 or s == 0 else (s - math.copysign(1.0, s)) / math.sqrt(var_s)
    p = float(2.0 * stats.norm.sf(abs(z)))
    slopes = np.sort((x[j] - x[i]) / (t[j] - t[i]))
    slope = float(np.median(slopes))
    low, high = _sen_interval(slopes, var_s, alpha)
    significant = p < alpha and s != 0
    return SymptomTrend(
        n_points=n,
        span_days=float(t[-1]),
        s_statistic=s,
        tau=float(s / (n * (n - 1) / 2)),
        z=float(z),
        p_value=p,
        confidence=1.0 - p,
        slope_per_day=slope,
        slope_ci=(min(low, slope), max(high, slope)),
        ci_level=1.0 - alpha,
        direction=("increasing" if s > 0 else "decreasing") if significant else "none",
    )


def frame_symptom_trend(frame: pd.DataFrame, subject_id: str, metric: str, alpha: float = 0.05) -> SymptomTrend:
    """`symptom_trend` on one subject's metric from an observation frame."""
    return symptom_trend(series_from_frame(frame, subject_id, metric), alpha)


def _variance_of_s(x: np.ndarray) -> float:
    """Var(S) under no trend, with the tie correction for groups of equal scores."""
    n = x.size
    _, ties = np.unique(x, return_counts=True)
    correction = float(np.sum(ties * (ties - 1) * (2 * ties + 5)))
    return (n * (n - 1) * (2 * n + 5) - correction) / 18.0


def _sen_interval(slopes: np.ndarray, var_s: float, alpha: float) -> tuple[float, float]:
    """Order statistics M1 and M2 + 1 of the sorted pairwise slopes (Gilbert 1987), interpolated."""
    count = slopes.size
    c = stats.norm.ppf(1.0 - alpha / 2.0) * math.sqrt(max(var_s, 0.0))
    ranks = np.arange(count, dtype=np.float64)
    lower_rank = np.clip((count - c) / 2.0 - 1.0, 0, count - 1)  # 0-based M1
    upper_rank = np.clip((count + c) / 2.0, 0, count - 1)  # 0-based M2 + 1
    return float(np.interp(lower_rank, ranks, slopes)), float(np.interp(upper_rank, ranks, slopes))
