"""Conformal calibration of prediction intervals (split conformalised quantile regression).

For every nominal level, reliability grade, volatility tercile and horizon day it learns how far the
model's raw interval must be widened (or narrowed) so that the share of held-out outcomes inside it
matches the level. Scores are divided by each window's own recent volatility (locally adaptive,
"normalised" conformal), so intervals widen for patients whose residuals drift upward. A (grade,
tercile) stratum with too few points on one horizon day uses its pooled factor over all days; a stratum
with too few points at all uses the overall factor.

Outcomes are integers clipped to the metric's range, so many scores are exactly 0 (a patient at the
floor with a lower bound clipped to it). When the conformal quantile lands on such a tie, the
threshold just below the tie is used if its calibration coverage is closer to the nominal level; the
plain rule always took the tie and over-covered calm, low-score strata by 2-4 points.
"""

from __future__ import annotations

import numpy as np

from twin_engine.errors import NotFittedError
from twin_engine.forecast.base import GRADES, LEVELS, MAX_HORIZON, QUANTILES, interval_indices
from twin_engine.forecast.nanstats import nanstd
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
    median = _row_nanmedian(np.where(ok, y, np.nan), n)
    dev = np.where(ok, np.abs(y - median[:, None]), 0.0)
    spread = (dev.sum(axis=1) + _PRIOR_POINTS * _POPULATION_SPREAD) / (n + _PRIOR_POINTS)
    return np.maximum(spread, _VOL_FLOOR)


def _row_nanmedian(y: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Median of each row's non-NaN values (NaN for an empty row); np.nanmedian goes through masked
    arrays and cost more than a millisecond per single forecast."""
    ordered = np.sort(y, axis=1)  # NaN sorts last
    rows = np.arange(len(y))
    lo, hi = np.maximum((n - 1) // 2, 0), np.maximum(n // 2, 0)
    median = (ordered[rows, lo] + ordered[rows, hi]) / 2.0
    return np.where(n > 0, median, np.nan)


def _conformal_quantile(scores: np.ndarray, level: float) -> float:
    """Split-conformal quantile of finite scores, tie-aware (see the module docstring)."""
    n = scores.size
    rank = min(np.ceil((n + 1) * level) / n, 1.0)
    threshold = float(np.quantile(scores, rank, method="higher"))
    below = scores[scores < threshold]
    if below.size and np.count_nonzero(scores == threshold) > 1:
        covered_at, covered_below = np.count_nonzero(scores <= threshold) / n, below.size / n
        if abs(covered_below - level) < abs(covered_at - level):
            return float(below.max())
    return threshold


def volatility_tercile(w: WindowSet, edges: np.ndarray) -> np.ndarray:
    """Tercile (0 calm, 1, 2 volatile) of each window's history SD, by edges learned on calibration data."""
    sd = np.nan_to_num(nanstd(w.history[:, :, 0]) / w.scale, nan=1.0)
    return np.searchsorted(edges, sd, side="right")


class ConformalCalibrator:
    """Per (level, grade, volatility tercile, horizon) widening factors, in units of local volatility.

    The volatility terciles matter: with one factor per grade, calm patients were over-covered and
    volatile ones under-covered by 5-8 points even though overall coverage was right.
    """

    def __init__(self) -> None:
        self.table: dict[str, np.ndarray] | None = None  # level -> (grade, tercile, horizon) factors
        self.edges: np.ndarray | None = None

    def fit(self, raw: np.ndarray, calib: WindowSet) -> None:
        """Learn factors from raw quantiles (m, MAX_HORIZON, Q) on calibration windows."""
        vol = local_volatility(calib) * calib.scale
        sd = nanstd(calib.history[:, :, 0]) / calib.scale
        self.edges = np.nanquantile(sd, [1.0 / 3.0, 2.0 / 3.0])
        tercile = volatility_tercile(calib, self.edges)
        table: dict[str, np.ndarray] = {}
        for level in LEVELS:
            lo_i, hi_i = interval_indices(level)
            scores = np.maximum(raw[:, :, lo_i] - calib.targets, calib.targets - raw[:, :, hi_i]) / vol[:, None]
            overall = _pooled(scores, level, 0.0)
            table[str(level)] = np.asarray(
                [
                    [self._stratum(scores[(calib.grade == grade) & (tercile == t)], level, overall) for t in range(3)]
                    for grade in GRADES
                ]
            )
        self.table = table

    @staticmethod
    def _stratum(scores: np.ndarray, level: float, fallback: float) -> list[float]:
        pooled = _pooled(scores, level, fallback)
        out = []
        for h in range(MAX_HORIZON):
            s = scores[:, h][np.isfinite(scores[:, h])]
            out.append(_conformal_quantile(s, level) if s.size >= MIN_STRATUM else pooled)
        return out

    def apply(self, raw: np.ndarray, windows: WindowSet) -> np.ndarray:
        """Calibrated quantiles: interval bounds moved by the learned factors, then re-sorted."""
        if self.table is None or self.edges is None:
            raise NotFittedError("ConformalCalibrator.apply before fit/load")
        horizon = raw.shape[1]
        out = raw.copy()
        vol = local_volatility(windows) * windows.scale
        grade_idx = np.searchsorted(np.asarray(GRADES), windows.grade)
        tercile = volatility_tercile(windows, self.edges)
        for level in LEVELS:
            lo_i, hi_i = interval_indices(level)
            factors = self.table[str(level)][grade_idx, tercile, :horizon]
            width = factors * vol[:, None]
            out[:, :, lo_i] = raw[:, :, lo_i] - width
            out[:, :, hi_i] = raw[:, :, hi_i] + width
        return _monotone(out)

    def state(self) -> dict[str, object]:
        """JSON-able factors and tercile edges."""
        if self.table is None or self.edges is None:
            raise NotFittedError("cannot save an unfitted calibrator")
        table = {level: factors.tolist() for level, factors in self.table.items()}
        return {"table": table, "edges": self.edges.tolist(), "quantiles": list(QUANTILES)}

    @classmethod
    def from_state(cls, state: dict[str, object]) -> ConformalCalibrator:
        """Inverse of `state`."""
        cal = cls()
        cal.table = {level: np.asarray(f, dtype=np.float64) for level, f in state["table"].items()}  # type: ignore[attr-defined]
        cal.edges = np.asarray(state["edges"], dtype=np.float64)
        return cal


def _pooled(scores: np.ndarray, level: float, fallback: float) -> float:
    finite = scores[np.isfinite(scores)]
    return _conformal_quantile(finite, level) if finite.size >= MIN_STRATUM else fallback


def _monotone(q: np.ndarray) -> np.ndarray:
    """Keep quantiles ordered after the interval bounds moved: clamp the inner ones towards the median."""
    mid = QUANTILES.index(0.5)
    out = q.copy()
    for i in range(mid - 1, -1, -1):
        out[:, :, i] = np.minimum(out[:, :, i], out[:, :, i + 1])
    for i in range(mid + 1, len(QUANTILES)):
        out[:, :, i] = np.maximum(out[:, :, i], out[:, :, i - 1])
    return out
