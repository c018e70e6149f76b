"""NaN-skipping mean and standard deviation along one axis, for the single-forecast path.

np.nanmean/np.nanstd compute the same sums but cost ~50 µs of dispatch and warning handling per call on
small arrays; a single forecast makes dozens of such calls, so these do the same arithmetic (NaN-free sum
/ count, ddof 0) inline. An all-NaN slice gives NaN, silently.
"""

from __future__ import annotations

import numpy as np


def nanmean(x: np.ndarray, axis: int = 1) -> np.ndarray:
    """Mean of the non-NaN values along `axis`."""
    ok = ~np.isnan(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, x, 0).sum(axis=axis) / ok.sum(axis=axis)


def nanstd(x: np.ndarray, axis: int = 1) -> np.ndarray:
    """Population standard deviation (ddof 0) of the non-NaN values along `axis`."""
    ok = ~np.isnan(x)
    count = ok.sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ok, x, 0).sum(axis=axis) / count
        dev = np.where(ok, x - np.expand_dims(mean, axis), 0)
        return np.sqrt((dev * dev).sum(axis=axis) / count)
