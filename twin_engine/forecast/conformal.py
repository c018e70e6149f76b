"""Conformal calibration of prediction intervals (split conformalised quantile regression).

For every nominal level, horizon day and reliability grade it learns how far the model's raw interval must
be widened (or narrowed) so that the share of held-out outcomes inside it matches the level. Scores are
divided by each window's own recent volatility (locally adaptive conformal), so intervals widen for
patients whose residuals drift upward. Strata with too few calibration points fall back to the pooled
grade, then to all windows.
"""

from __future__ import annotations

import warnings

import numpy as np

from twin_engine.errors import NotFittedError
from twin_engine.forecast.base import GRADES, LEVELS, MAX_HORIZON, QUANTILES, interval_indices
from twin_engine.forecast.windows import WindowSet

MIN_STRATUM = 60
_VOL_FLOOR = 0.25
_PRIOR_POINTS = 10
_POPULATION_SPREAD = 0.8  # mean absolute deviation of a unit-variance normal


def local_volatility(w: WindowSet) -> np.ndarray:
    """Recent spread of the target (normalised units), shrunk towards the population spread (1.0).

    With few points the patient's own spread is unreliable (three equal scores give zero), so it is
    pooled with `_PRIOR_POINTS` pseudo-observations of the population spread: short histories get
    population-wide intervals, rich ones their own. Floored so scores stay bounded.
    """
    y = (w.history[:, -56:, 0] - w.loc[:, None]) / w.scale
    ok = np.isfinite(y)
    n = ok.sum(axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        median = np.nanmedian(np.where(ok, y, np.nan), axis=1)
    dev = np.where(ok, np.abs(y - median[:, None]), 0.0)
    spread = (dev.sum(axis=1) + _PRIOR_POINTS * _POPULATION_SPREAD) / (n + _PRIOR_POINTS)
    return np.maximum(spread, _VOL_FLOOR)


def _conformal_quantile(scores: np.ndarray, level: float) -> float:
    n = scores.size
    rank = min(np.ceil((n + 1) * level) / n, 1.0)
    return float(np.quantile(scores, rank, method="higher"))


class ConformalCalibrator:
    """Per (level, horizon, grade) widening factors, in units of local volatility x metric scale."""

    def __init__(self) -> None:
        self.table: dict[str, list[list[float]]] | None = None  # level -> grade -> horizon

    def fit(self, raw: np.ndarray, calib: WindowSet) -> None:
        """Learn factors from raw quantiles (m, MAX_HORIZON, Q) on calibration windows."""
        vol = local_volatility(calib) * calib.scale
        table: dict[str, list[list[float]]] = {}
        for level in LEVELS:
            lo_i, hi_i = interval_indices(level)
            scores = np.maximum(raw[:, :, lo_i] - calib.targets, calib.targets - raw[:, :, hi_i]) / vol[:, None]
            pooled = scores[np.isfinite(scores)]
            overall = _conformal_quantile(pooled, level) if pooled.size else 0.0
            per_grade = []
            for grade in GRADES:
                g = scores[calib.grade == grade]
                g_all = g[np.isfinite(g)]
                g_pooled = _conformal_quantile(g_all, level) if g_all.size >= MIN_STRATUM else overall
                row = []
                for h in range(MAX_HORIZON):
                    s = g[:, h][np.isfinite(g[:, h])]
                    row.append(_conformal_quantile(s, level) if s.size >= MIN_STRATUM else g_pooled)
                per_grade.append(row)
            table[str(level)] = per_grade
        self.table = table

    def apply(self, raw: np.ndarray, windows: WindowSet) -> np.ndarray:
        """Calibrated quantiles: interval bounds moved by the learned factors, then re-sorted."""
        if self.table is None:
            raise NotFittedError("ConformalCalibrator.apply before fit/load")
        horizon = raw.shape[1]
        out = raw.copy()
        vol = local_volatility(windows) * windows.scale
        grade_idx = np.searchsorted(np.asarray(GRADES), windows.grade)
        for level in LEVELS:
            lo_i, hi_i = interval_indices(level)
            factors = np.asarray(self.table[str(level)])[grade_idx, :horizon]
            width = factors * vol[:, None]
            out[:, :, lo_i] = raw[:, :, lo_i] - width
            out[:, :, hi_i] = raw[:, :, hi_i] + width
        return _monotone(out)

    def state(self) -> dict[str, object]:
        """JSON-able factors."""
        if self.table is None:
            raise NotFittedError("cannot save an unfitted calibrator")
        return {"table": self.table, "quantiles": list(QUANTILES)}

    @classmethod
    def from_state(cls, state: dict[str, object]) -> ConformalCalibrator:
        """Inverse of `state`."""
        cal = cls()
        cal.table = state["table"]  # type: ignore[assignment]
        return cal


def _monotone(q: np.ndarray) -> np.ndarray:
    """Keep quantiles ordered after the interval bounds moved: clamp the inner ones towards the median."""
    mid = QUANTILES.index(0.5)
    out = q.copy()
    for i in range(mid - 1, -1, -1):
        out[:, :, i] = np.minimum(out[:, :, i], out[:, :, i + 1])
    for i in range(mid + 1, len(QUANTILES)):
        out[:, :, i] = np.maximum(out[:, :, i], out[:, :, i - 1])
    return out
