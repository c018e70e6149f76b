"""Benjamini–Hochberg false-discovery-rate control, plain and weighted (NaN p-values are never rejected)."""

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


def weighted_benjamini_hochberg(p_values: np.ndarray, weights: np.ndarray, q: float) -> tuple[np.ndarray, np.ndarray]:
    """BH on p / w (Genovese, Roeder & Wasserman, Biometrika 2006).

    FDR stays at most `q` when the weights of the finite p-values average one and were chosen without
    looking at these p-values; the caller owns both conditions. A weight of zero never rejects.
    """
    p = np.asarray(p_values, dtype=float)
    w = np.asarray(weights, dtype=float)
    if p.shape != w.shape or (w < 0).any():
        raise ValueError("weights must be non-negative, one per p-value")
    scaled = np.divide(p, w, out=np.full(p.shape, np.inf), where=w > 0)
    return benjamini_hochberg(np.where(np.isfinite(p), scaled, np.nan), q)
