"""Forecast scores: MAE, RMSE, MASE, weighted quantile loss (a CRPS estimate) and interval coverage.

All functions take aligned arrays and ignore NaN targets, so sparse questionnaires can be scored with the
same code as daily ratings.
"""

from __future__ import annotations

import numpy as np

from twin_engine.forecast.base import LEVELS, QUANTILES, interval_indices

MASE_SCALE_FLOOR = 0.25


def seasonal_scale(history: np.ndarray, season: int = 7) -> np.ndarray:
    """Per-window in-sample MAE of the seasonal naive forecast (the MASE denominator), floored."""
    diff = np.abs(history[:, season:] - history[:, :-season])
    ok = np.isfinite(diff)
    total = np.where(ok, diff, 0.0).sum(axis=1)
    count = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    # Sparse series (weekly questionnaires) rarely have lag-7 pairs: fall back to the lag-1-observation MAE.
    fallback = np.array([_consecutive_mae(row) for row in history])
    return np.maximum(np.where(np.isfinite(scale), scale, fallback), MASE_SCALE_FLOOR)


def _consecutive_mae(row: np.ndarray) -> float:
    obs = row[np.isfinite(row)]
    return float(np.mean(np.abs(np.diff(obs)))) if obs.size > 1 else np.nan


def pinball(quantiles: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pinball loss per cell and quantile: (..., len(QUANTILES))."""
    q = np.asarray(QUANTILES)
    diff = y[..., None] - quantiles
    return np.maximum(q * diff, (q - 1.0) * diff)


def score(quantiles: np.ndarray, y: np.ndarray, mase_scale: np.ndarray) -> dict[str, float]:
    """Scores over all non-NaN cells of y (m, h) given quantiles (m, h, Q) and MASE scales (m,)."""
    ok = np.isfinite(y)
    if not ok.any():
        return {}
    point = quantiles[:, :, QUANTILES.index(0.5)]
    err = (point - y)[ok]
    scale = np.broadcast_to(mase_scale[:, None], y.shape)[ok]
    pl = pinball(quantiles, np.nan_to_num(y))[ok]
    out = {
        "n": float(ok.sum()),
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mase": float(np.mean(np.abs(err) / scale)),
        # wQL as in GluonTS: 2 * sum pinball / sum |y|, averaged over quantile levels.
        "wql": float(np.mean(2.0 * pl.sum(axis=0) / max(np.abs(y[ok]).sum(), 1e-9))),
        # CRPS approximated by twice the mean pinball loss over the quantile grid (score units).
        "crps": float(2.0 * pl.mean()),
    }
    for level in LEVELS:
        lo_i, hi_i = interval_indices(level)
        lo, hi = quantiles[:, :, lo_i][ok], quantiles[:, :, hi_i][ok]
        yy = y[ok]
        pct = round(level * 100)
        out[f"coverage_{pct}"] = float(np.mean((yy >= lo) & (yy <= hi)))
        out[f"width_{pct}"] = float(np.mean(hi - lo))
    return out
