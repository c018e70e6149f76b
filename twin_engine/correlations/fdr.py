"""Benjamini–Hochberg false-discovery-rate control (NaN p-values are never rejected)."""

from __future__ import annotations

import numpy as np


def benjamini_hochberg(p_values: np.ndarray, q: float) -> tuple[np.ndarray, np.ndarray]:
    """Adjusted q-values and the rejection mask at level `q`, over the finite p-values only."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    rejected = np.zeros(p.shape, dtype=bool)
    finite = np.flatnonzero(np.isfinite(p))
    m = len(finite)
    if m == 0:
        return adjusted, rejected
    order = finite[np.argsort(p[finite], kind="stable")]
    ranked = p[order] * m / np.arange(1, m + 1)
    monotone = np.minimum.accumulate(ranked[::-1])[::-1]
    adjusted[order] = np.minimum(monotone, 1.0)
    rejected[order] = monotone <= q
    return adjusted, rejected
