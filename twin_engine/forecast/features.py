"""Tabular features of a window for the gradient-boosted model: lags, rolling statistics, covariates.

Everything is in the window's normalised units ((value - loc) / scale) except the level itself, so the
trees learn patient-independent dynamics; NaN is left in place because XGBoost routes missing values.
Early-warning statistics (lag-1 autocorrelation, recent variance) are included because relapses in the
data are preceded by critical slowing down.
"""

from __future__ import annotations

import numpy as np

from twin_engine.forecast.nanstats import nanmean, nanstd
from twin_engine.forecast.windows import WindowSet


def last_observed(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's last non-NaN value and how many days before the window's end it was observed."""
    observed = np.isfinite(y)
    days = y.shape[1]
    last_idx = days - 1 - np.argmax(observed[:, ::-1], axis=1)
    value = y[np.arange(y.shape[0]), last_idx]
    return value, (days - 1 - last_idx).astype(np.float32)


def _lag1_autocorrelation(y: np.ndarray) -> np.ndarray:
    a, b = y[:, 1:], y[:, :-1]
    ok = np.isfinite(a) & np.isfinite(b)
    a0 = np.where(ok, a - nanmean(np.where(ok, a, np.nan))[:, None], 0.0)
    b0 = np.where(ok, b - nanmean(np.where(ok, b, np.nan))[:, None], 0.0)
    denom = np.sqrt((a0**2).sum(axis=1) * (b0**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (a0 * b0).sum(axis=1) / denom
    return np.where(ok.sum(axis=1) >= 5, r, np.nan)


def _slope(y: np.ndarray) -> np.ndarray:
    t = np.arange(y.shape[1], dtype=np.float64)[None, :]
    ok = np.isfinite(y)
    n = ok.sum(axis=1)
    tm = np.where(ok, t, 0).sum(axis=1) / np.maximum(n, 1)
    ym = np.where(ok, y, 0).sum(axis=1) / np.maximum(n, 1)
    cov = np.where(ok, (t - tm[:, None]) * (y - ym[:, None]), 0).sum(axis=1)
    var = np.where(ok, (t - tm[:, None]) ** 2, 0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n >= 3, cov / var, np.nan)


def window_features(w: WindowSet) -> np.ndarray:
    """Features (m, F) that do not depend on the horizon."""
    y = (w.history[:, :, 0] - w.loc[:, None]) / w.scale
    last, since = last_observed(y)
    cols = [
        w.loc / w.scale,
        last,
        since,
        np.isfinite(y).sum(axis=1).astype(np.float32),
        nanstd(y),
        nanstd(y[:, -14:]),
        _lag1_autocorrelation(y[:, -42:]),
        _slope(y[:, -28:]),
        _slope(y[:, -7:]),
    ]
    cols += [nanmean(y[:, -k:]) for k in (3, 7, 14, 28, 56)]
    # All covariate channels at once (m, days, C): one reduction per statistic instead of one per channel.
    x = w.history[:, :, 1:]
    overall = nanmean(x)
    spread = nanstd(x) + 1e-6
    latest = (x[:, -1] - overall) / spread
    week = (nanmean(x[:, -7:]) - overall) / spread
    cols += [c for k in range(x.shape[2]) for c in (latest[:, k], week[:, k], overall[:, k])]
    med = np.nan_to_num(w.history[:, :, -1], nan=0.0)
    cols.append(med.sum(axis=1))
    return np.column_stack(cols).astype(np.float32)


def horizon_rows(features: np.ndarray, horizons: np.ndarray) -> np.ndarray:
    """Stack window features with a horizon column: one row per (window, horizon) pair."""
    m = features.shape[0]
    reps = np.repeat(features, horizons.shape[0], axis=0)
    hcol = np.tile(horizons.astype(np.float32), m)[:, None]
    return np.hstack([reps, hcol])
