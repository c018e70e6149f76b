"""Deterioration risk read off the forecaster's calibrated predictive distribution.

"How likely is this patient's PHQ-9 to reach 15?" is a question about the forecast's upper tail, so it is
answered from the same conformal quantiles that give the intervals, not by a separate classifier: the
probability of a score at or above a threshold on day k is one minus the predictive CDF there,
interpolated linearly between quantile levels (and to the scale's bounds beyond the outermost ones).
Scores are integers and forecasts continuous, so "≥ 15" is read as "≥ 14.5".

Per-day quantiles say nothing about how errors on different days move together, so the chance of reaching
the threshold on *any* day of the horizon is not identified; `peak` (the highest single-day probability)
is its lower bound and what we report, with the day it occurs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin_engine import frames
from twin_engine.forecast.base import Forecast

# The thresholds the issue asks for: moderately severe (PHQ-9 >= 15) and severe (>= 20) depression,
# severe anxiety (GAD-7 >= 15) — the instruments' published severity bands.
DETERIORATION_THRESHOLDS: tuple[tuple[str, float], ...] = (
    (frames.PHQ9, 15.0),
    (frames.PHQ9, 20.0),
    (frames.GAD7, 15.0),
)


@dataclass(frozen=True)
class ThresholdRisk:
    """Probability of scoring at or above `threshold`, per subject and forecast day (day k = origin + k)."""

    metric: str
    threshold: float
    subject_ids: tuple[str, ...]
    daily: np.ndarray  # (n_subjects, horizon)

    @property
    def at_horizon(self) -> np.ndarray:
        return self.daily[:, -1]

    @property
    def peak(self) -> np.ndarray:
        """Highest single-day probability: a lower bound on reaching the threshold on any day."""
        return self.daily.max(axis=1)

    @property
    def peak_day(self) -> np.ndarray:
        return self.daily.argmax(axis=1) + 1


def exceedance_probability(
    quantiles: np.ndarray, levels: tuple[float, ...], threshold: float, bounds: tuple[float, float]
) -> np.ndarray:
    """P(score >= threshold) from quantiles along the last axis (integer scores: threshold - 0.5)."""
    cut = threshold - 0.5
    lo, hi = bounds
    q = np.asarray(quantiles, dtype=float)
    grid_levels = np.concatenate([[0.0], np.asarray(levels), [1.0]])
    shape = q.shape[:-1]
    values = np.concatenate([np.full((*shape, 1), lo), q, np.full((*shape, 1), hi)], axis=-1)
    values = np.maximum.accumulate(values, axis=-1)
    # F(cut): between the last grid point at or below the cut and the next one, interpolate the level.
    above = (values <= cut).sum(axis=-1)
    j = np.clip(above - 1, 0, len(grid_levels) - 2)
    x0 = np.take_along_axis(values, j[..., None], axis=-1)[..., 0]
    x1 = np.take_along_axis(values, (j + 1)[..., None], axis=-1)[..., 0]
    share = np.clip((cut - x0) / np.maximum(x1 - x0, 1e-12), 0.0, 1.0)
    cdf = grid_levels[j] + (grid_levels[j + 1] - grid_levels[j]) * share
    cdf = np.where(above == 0, 0.0, np.where(above == len(grid_levels), 1.0, cdf))
    return np.clip(1.0 - cdf, 0.0, 1.0)


def threshold_risk(forecast: Forecast, threshold: float, horizon: int | None = None) -> ThresholdRisk:
    """Risk of reaching `threshold` on each day of the forecast (or its first `horizon` days)."""
    days = forecast.horizon if horizon is None else min(horizon, forecast.horizon)
    bounds = frames.TARGET_RANGES[forecast.metric]
    daily = exceedance_probability(forecast.quantiles[:, :days], forecast.quantile_levels, threshold, bounds)
    return ThresholdRisk(forecast.metric, threshold, forecast.subject_ids, daily)
