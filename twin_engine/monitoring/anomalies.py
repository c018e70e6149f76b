"""Robust, seasonality-aware anomaly detection for biometric streams (hourly or daily).

Method (a robust two-pass decomposition in the spirit of STL; Cleveland et al., J. Off. Stat. 1990):
values are averaged onto a regular grid (hours or days); the trend is the median of the neighbours within
1.5 seasonal periods either side (the point itself left out, so it cannot pull its own baseline); the
seasonal profile is the median residual of the other points of the same phase (hour of day for hourly
streams, day of week for daily ones); the trend is then re-estimated once on the deseasonalised series.
The residual scale is the SD of the residuals within 4.5 MADs of their median, so a few spikes move
neither the baseline nor the scale, and a weekly or daily rhythm is expected rather than flagged.

Confidence of an anomaly: the probability that noise of the estimated scale would *not* produce a residual
this extreme anywhere in a series of this length, ``(1 - 2·F(-|z|))^n`` with F a Student t (its degrees of
freedom discount the fitted trend and profile). It is near 1 for a residual no chance fluctuation explains
and falls for long series, where extremes are expected; points are reported when it reaches
`min_confidence`, so 1 - `min_confidence` is the intended share of clean streams with any flag (measured:
6% of simulated daily and 10% of hourly streams at 0.9, docs/benchmarks.md). Missing grid cells are left
out, never imputed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from twin_engine.monitoring.series import clean_series, series_from_frame

Resolution = Literal["hourly", "daily"]
_PERIOD: dict[str, int] = {"hourly": 24, "daily": 7}
_FREQ: dict[str, str] = {"hourly": "h", "daily": "D"}
_MAD_TO_SD = 1.4826
_TREND_PERIODS = 3
_INLIER_Z = 4.5


@dataclass(frozen=True)
class Anomaly:
    """One flagged grid cell: observed vs expected (trend + season) and how sure we are it is not noise."""

    ts: pd.Timestamp
    value: float
    expected: float
    robust_z: float
    confidence: float
    direction: Literal["high", "low"]


@dataclass(frozen=True)
class AnomalyReport:
    """All anomalies of one stream. Invariants: no NaN anywhere; anomalies sorted by time."""

    resolution: Resolution
    n_points: int
    residual_scale: float
    min_confidence: float
    anomalies: tuple[Anomaly, ...]


def detect_anomalies(series: pd.Series, resolution: Resolution = "daily", min_confidence: float = 0.9) -> AnomalyReport:
    """Flag points far from the robust trend + seasonal profile of a stream (tz-aware DatetimeIndex)."""
    period = _PERIOD[resolution]
    values = clean_series(series, min_points=2 * period)
    grid = values.groupby(values.index.floor(_FREQ[resolution])).mean()
    full = grid.reindex(pd.date_range(grid.index[0], grid.index[-1], freq=_FREQ[resolution]))
    phase = _phase(full.index, resolution)
    expected = _expected(full, phase, period)
    resid = (full - expected).to_numpy()
    seen = np.isfinite(resid)
    scale = _robust_scale(resid[seen])
    z = np.where(seen, resid / scale, 0.0)
    n = int(seen.sum())
    # Student t rather than normal tails: the scale, trend and profile are estimated from the same points.
    dof = max(n - period - n // (_TREND_PERIODS * period), 5)
    confidence = np.exp(n * np.log1p(-np.minimum(2.0 * stats.t.sf(np.abs(z), dof), 1.0 - 1e-16)))
    flagged = np.flatnonzero(seen & (confidence >= min_confidence))
    anomalies = tuple(
        Anomaly(
            ts=full.index[i],
            value=float(full.iloc[i]),
            expected=float(expected.iloc[i]),
            robust_z=float(z[i]),
            confidence=float(confidence[i]),
            direction="high" if z[i] > 0 else "low",
        )
        for i in flagged
    )
    return AnomalyReport(resolution, n, float(scale), min_confidence, anomalies)


def detect_frame_anomalies(
    frame: pd.DataFrame, subject_id: str, metric: str, resolution: Resolution = "daily", min_confidence: float = 0.9
) -> AnomalyReport:
    """`detect_anomalies` on one subject's metric from an observation frame."""
    return detect_anomalies(series_from_frame(frame, subject_id, metric), resolution, min_confidence)


def _phase(index: pd.DatetimeIndex, resolution: Resolution) -> np.ndarray:
    return np.asarray(index.hour if resolution == "hourly" else index.dayofweek)


def _expected(values: pd.Series, phase: np.ndarray, period: int) -> pd.Series:
    """Trend (neighbour median) + seasonal profile (median residual per phase), two passes."""
    seasonal = np.zeros(len(values))
    x = values.to_numpy()
    for _ in range(2):
        trend = _neighbour_median(x - seasonal, _TREND_PERIODS * period // 2, period)
        seasonal = _phase_median_of_others(x - trend, phase)
    return pd.Series(trend + seasonal, index=values.index)


def _phase_median_of_others(resid: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """Per point, the median residual of the *other* points of its phase, centred over phases.

    As for the trend, a point must not shape its own expectation: with ~20 points per phase the in-sample
    median shrinks ordinary residuals (and the scale) but not extreme ones, which over-flags.
    """
    out = np.zeros(resid.shape)
    centers = []
    for p in np.unique(phase):
        idx = np.flatnonzero((phase == p) & np.isfinite(resid))
        if idx.size == 0:
            continue
        values = resid[idx]
        centers.append(float(np.median(values)))
        if idx.size == 1:
            out[idx] = values
            continue
        others = np.broadcast_to(values, (idx.size, idx.size))[~np.eye(idx.size, dtype=bool)]
        out[idx] = np.median(others.reshape(idx.size, idx.size - 1), axis=1)
        out[(phase == p) & ~np.isfinite(resid)] = centers[-1]
    return out - (float(np.mean(centers)) if centers else 0.0)


def _neighbour_median(x: np.ndarray, half: int, min_count: int) -> np.ndarray:
    """Median of the `half` points either side of each point, *excluding* the point itself.

    Leaving the point out keeps it from pulling its own baseline towards it, which would shrink the
    residuals and with them the scale, and flag ordinary days.
    """
    padded = np.concatenate([np.full(half, np.nan), x, np.full(half, np.nan)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    neighbours = np.delete(windows, half, axis=1)
    enough = np.isfinite(neighbours).sum(axis=1) >= min_count
    with np.errstate(all="ignore"):
        med = np.where(enough, np.nanmedian(np.where(enough[:, None], neighbours, 0.0), axis=1), np.nan)
    known = np.flatnonzero(np.isfinite(med))
    return np.interp(np.arange(x.size), known, med[known]) if known.size else np.full(x.size, np.nanmedian(x))


def _robust_scale(resid: np.ndarray) -> float:
    """Standard deviation of the residuals within `_INLIER_Z` MADs of their median.

    The MAD alone is robust but noisy (37% efficiency), and the flagging threshold sits far in the tail,
    where a 10% error in the scale triples the false flags; one pass of the plain SD over the inliers
    keeps the robustness and most of the efficiency. Constant streams get a tiny floor instead of 0.
    """
    center = np.median(resid)
    mad = _MAD_TO_SD * float(np.median(np.abs(resid - center)))
    if mad <= 0:
        mad = 1.2533 * float(np.mean(np.abs(resid - center)))
    if mad <= 0:
        return 1e-9
    inliers = resid[np.abs(resid - center) <= _INLIER_Z * mad]
    return float(inliers.std(ddof=1)) if inliers.size > 2 else mad
