"""Critical-slowing-down indicators: lag-1 autocorrelation and variance, in rolling or exponentially weighted windows.

Exponential weighting (`exponential_indicators`, the default since early-warning 1.1.0) puts most weight
on the latest days. Before a transition the recovery rate falls steadily, so the autocorrelation is
highest in the last days before onset; a flat 30-day window averages them with the weaker days before.
On the simulator the weighted indicators lift sensitivity at a 10% false-alarm rate from 43% to 50% (5
reports a day) and from 26% to 34% (1 a day), measured in docs/benchmarks.md.

Rolling windows (`rolling_indicators`):

The statistics of day t describe the `window` days ending on t (only the past, so they can run online).
Optional detrending fits a least-squares line to a *longer* trailing stretch (`trend_window` days) and
takes the residuals of its last `window` days, so drift slower than the trend window (season, treatment)
is removed while the slow wandering that critical slowing down produces inside the window is kept. A
line through the short window itself would absorb exactly that wandering. Even the longer line costs
sensitivity on the simulator (47% -> 41% with 60 days, docs/benchmarks.md), whose drift is mild, so the
default only removes each window's mean; turn detrending on where drifts are strong.

Invariants: outputs are (n_subjects, days), NaN where the window has fewer than `min_days` observed days
(or fewer than `min_days // 2` consecutive pairs for the autocorrelation) or the trend stretch does not
fit in the record yet.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from twin_engine.early_warning.errors import EarlyWarningInputError

_CHUNK = 128  # patients per vectorised block: bounds memory at (128, days, trend_window) floats


@dataclass(frozen=True)
class Indicators:
    """Indicators per subject and day (the value at day t describes days up to t only).

    `memory` is how many days back the value at day t reaches (the window, or three half-lives, beyond
    which less than an eighth of the weight lies): windows `memory` days apart barely overlap.
    """

    autocorrelation: np.ndarray
    variance: np.ndarray
    memory: int


def rolling_indicators(
    daily: np.ndarray, window: int = 30, trend_window: int | None = None, min_days: int | None = None
) -> Indicators:
    """Lag-1 autocorrelation and variance of detrended daily values (NaN = missing day) in trailing windows.

    `trend_window` None only removes each window's mean (no line).
    """
    daily = np.atleast_2d(np.asarray(daily, dtype=np.float64))
    n, t = daily.shape
    span = trend_window if trend_window is not None else window
    if not 5 <= window <= span <= t:
        raise EarlyWarningInputError(f"need 5 <= window ({window}) <= trend_window ({span}) <= days ({t})")
    min_days = min_days if min_days is not None else window // 2
    ac = np.full((n, t), np.nan)
    var = np.full((n, t), np.nan)
    for lo in range(0, n, _CHUNK):
        block = slice(lo, lo + _CHUNK)
        a, v = _window_stats(daily[block], window, span, min_days, trend_window is not None)
        ac[block, span - 1 :] = a
        var[block, span - 1 :] = v
    return Indicators(ac, var, window)


def exponential_memory(half_life: float) -> int:
    """Days back that exponentially weighted indicators reach: three half-lives hold 7/8 of the weight."""
    return round(3 * half_life)


def exponential_indicators(daily: np.ndarray, half_life: float, min_days: int | None = None) -> Indicators:
    """Exponentially weighted lag-1 autocorrelation and variance of daily values (NaN = missing day).

    Deviations are taken from an exponentially weighted level with three times the half-life, slow enough
    not to absorb the wandering that critical slowing down produces. Pairs are consecutive observed days.
    A value needs `min_days` observed days so far (default two half-lives) and, like a rolling window
    half full, at least half of the full weight in observed days.
    """
    daily = np.atleast_2d(np.asarray(daily, dtype=np.float64))
    if not half_life >= 1.0:
        raise EarlyWarningInputError(f"half_life must be at least 1 day, got {half_life}")
    n, t = daily.shape
    keep = 0.5 ** (1.0 / half_life)
    keep_level = 0.5 ** (1.0 / (3.0 * half_life))
    min_days = min_days if min_days is not None else round(2 * half_life)
    seen = np.isfinite(daily)
    level_sum, level_weight = np.zeros(n), np.zeros(n)
    sxx, sxy, szz, weight, days = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    previous = np.full(n, np.nan)
    ac, var = np.full((n, t), np.nan), np.full((n, t), np.nan)
    for day in range(t):
        y, ok = daily[:, day], seen[:, day]
        level_sum = keep_level * level_sum + np.where(ok, y, 0.0)
        level_weight = keep_level * level_weight + ok
        with np.errstate(invalid="ignore", divide="ignore"):
            z = np.where(ok, y - level_sum / level_weight, np.nan)
        pair = ok & np.isfinite(previous)
        sxx = keep * sxx + np.where(pair, previous * previous, 0.0)
        sxy = keep * sxy + np.where(pair, previous * z, 0.0)
        szz = keep * szz + np.where(ok, z * z, 0.0)
        weight = keep * weight + ok
        days += ok
        previous = z
        enough = (days >= min_days) & (weight >= 0.5 / (1.0 - keep))
        with np.errstate(invalid="ignore", divide="ignore"):
            ac[:, day] = np.where(enough & (sxx > 0), np.clip(sxy / sxx, -1.0, 1.0), np.nan)
            var[:, day] = np.where(enough, szz / weight, np.nan)
    return Indicators(ac, var, exponential_memory(half_life))


def _residuals(daily: np.ndarray, trend_window: int) -> np.ndarray:
    """Residuals from a line through each trailing `trend_window` stretch: (n, t - trend_window + 1, trend_window)."""
    x = sliding_window_view(daily, trend_window, axis=1)
    seen = np.isfinite(x)
    k = seen.sum(axis=2)
    u = np.arange(trend_window, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        u_bar = np.where(seen, u, 0.0).sum(axis=2) / k
        x_bar = np.where(seen, x, 0.0).sum(axis=2) / k
        du = np.where(seen, u - u_bar[..., None], 0.0)
        dx = np.where(seen, x - x_bar[..., None], 0.0)
        slope = (du * dx).sum(axis=2) / (du * du).sum(axis=2)
        return np.where(seen, dx - slope[..., None] * du, np.nan)


def _window_stats(
    daily: np.ndarray, window: int, trend_window: int, min_days: int, detrend: bool
) -> tuple[np.ndarray, np.ndarray]:
    r = _residuals(daily, trend_window)[..., -window:] if detrend else sliding_window_view(daily, window, axis=1)
    seen = np.isfinite(r)
    k = seen.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(seen, r - (np.where(seen, r, 0.0).sum(axis=2) / k)[..., None], 0.0)
        var = (r * r).sum(axis=2) / (k - 1)
        pair = seen[..., 1:] & seen[..., :-1]
        n_pairs = pair.sum(axis=2)
        cov = np.where(pair, r[..., 1:] * r[..., :-1], 0.0).sum(axis=2) / np.maximum(n_pairs - 1, 1)
        ac = np.clip(cov / var, -1.0, 1.0)
    enough = k >= min_days
    return np.where(enough & (n_pairs >= min_days // 2), ac, np.nan), np.where(enough, var, np.nan)
