"""AutoETS baseline (statsforecast): the classical strong per-patient model, fitted per window.

ETS needs a regular series, so it is fitted on the sequence of observed target values (gaps removed) and
a day-ahead horizon is mapped to steps of the patient's median observation spacing. Its Gaussian
intervals become raw quantiles; conformal calibration then treats it exactly like the other models.
"""

from __future__ import annotations

import warnings
from statistics import NormalDist

import numpy as np
from statsforecast.models import AutoETS

from twin_engine.forecast.base import QUANTILES
from twin_engine.forecast.windows import WindowSet

_Z = np.asarray([NormalDist().inv_cdf(q) for q in QUANTILES])
_Z80 = NormalDist().inv_cdf(0.9)  # the upper bound of statsforecast's 80% interval is mean + _Z80 * sd


def _one(series: np.ndarray, days: np.ndarray, horizon: int) -> np.ndarray:
    spacing = max(float(np.median(np.diff(days))) if days.size > 1 else 1.0, 1.0)
    steps = np.maximum(np.ceil(np.arange(1, horizon + 1) / spacing).astype(int), 1)
    needed = int(steps.max())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = AutoETS(season_length=1)
            fc = model.forecast(y=series.astype(np.float64), h=needed, level=[80])
        mean = np.asarray(fc["mean"], dtype=np.float64)
        sd = (np.asarray(fc["hi-80"], dtype=np.float64) - mean) / _Z80
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(sd))):
            raise ValueError("non-finite ETS forecast")
        sd = np.maximum(sd, 1e-3)
    except Exception:
        mean = np.full(needed, series[-1])
        sd = np.full(needed, max(float(np.std(series)), 0.5))
    return mean[steps - 1, None] + sd[steps - 1, None] * _Z[None, :]


class AutoETSModel:
    """Per-window AutoETS; `fit` is a no-op because every patient gets its own model at forecast time."""

    name = "autoets"

    def fit(self, train: WindowSet, valid: WindowSet) -> None:
        """Nothing global to learn."""
        del train, valid

    def predict(self, windows: WindowSet, horizon: int) -> np.ndarray:
        """Raw quantiles (m, horizon, Q); one ETS fit per window (slow: a baseline, not a serving model)."""
        out = np.empty((len(windows), horizon, len(QUANTILES)))
        for row in range(len(windows)):
            y = windows.history[row, :, 0]
            days = np.flatnonzero(np.isfinite(y))
            out[row] = _one(y[days], days, horizon)
        return out
