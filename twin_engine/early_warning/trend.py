"""Kendall's τ of an indicator against time, over a trailing span, for every patient and day at once.

The numerator of τ over the window ``(t - span, t]`` is a sum, over lags l, of ``sign(x[j] - x[j - l])``
for the pairs inside the window; each lag's contribution is a rolling sum, so the whole (n, days) array
costs O(n · days · span) with cumulative sums instead of O(n · days · span²) pair matrices. NaNs are left
out of both the numerator and the pair count (τ over the observed pairs), never propagated.
"""

from __future__ import annotations

import numpy as np

from twin_engine.early_warning.errors import EarlyWarningInputError


def rolling_kendall_tau(x: np.ndarray, span: int, min_pairs_fraction: float = 0.5) -> np.ndarray:
    """τ of each row of `x` against time over trailing `span` values; NaN where too few pairs are valid."""
    if span < 3:
        raise EarlyWarningInputError(f"a Kendall trend needs a span of at least 3 values, got {span}")
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    n, t = x.shape
    concordant = np.zeros((n, t))
    pairs = np.zeros((n, t))
    for lag in range(1, min(span, t)):
        diff = x[:, lag:] - x[:, :-lag]
        valid = np.isfinite(diff)
        sign = np.where(valid, np.sign(np.where(valid, diff, 0.0)), 0.0)
        # Pairs (j - lag, j) lie in the window ending at t when t - span < j - lag, i.e. the last span - lag j's.
        width = span - lag
        concordant[:, lag:] += _rolling_sum(sign, width)
        pairs[:, lag:] += _rolling_sum(valid.astype(np.float64), width)
    full = span * (span - 1) / 2.0
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = concordant / pairs
    tau[:, : span - 1] = np.nan
    return np.where(pairs >= min_pairs_fraction * full, tau, np.nan)


def kendall_tau(x: np.ndarray) -> float:
    """τ of one series against its index, over the finite values (NaN if fewer than 3)."""
    values = np.asarray(x, dtype=np.float64)
    index = np.flatnonzero(np.isfinite(values))
    if index.size < 3:
        return float("nan")
    v = values[index]
    s = np.sign(v[None, :] - v[:, None])[np.triu_indices(index.size, 1)]
    return float(s.sum() / s.size)


def _rolling_sum(a: np.ndarray, width: int) -> np.ndarray:
    """Sum of the last `width` columns ending at each column (fewer at the start)."""
    c = np.cumsum(a, axis=1)
    out = c.copy()
    out[:, width:] -= c[:, :-width]
    return out
