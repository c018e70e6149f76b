"""Probability-forecast scores: AUC, Brier, expected calibration error and the reliability curve behind it.

ECE uses `ECE_BINS` equal-width bins on [0, 1], each weighted by its share of predictions
(|mean predicted - observed rate|, summed); empty bins count zero. Equal-width bins are the common
definition, so figures compare with the literature; note that even perfect probabilities score a small
positive ECE from sampling noise (the oracle's ECE in the report shows that floor).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

from twin_engine.errors import InsufficientDataError

ECE_BINS = 10


def auc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties count one half)."""
    y = np.asarray(y, dtype=bool)
    n1 = int(y.sum())
    n0 = y.size - n1
    if n1 == 0 or n0 == 0:
        raise InsufficientDataError("AUC needs both outcomes among the labels")
    ranks = rankdata(p)
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def brier(y: np.ndarray, p: np.ndarray) -> float:
    """Mean squared error of the probabilities."""
    return float(np.mean((np.asarray(p, float) - np.asarray(y, float)) ** 2))


@dataclass(frozen=True)
class ReliabilityCurve:
    """Per bin (equal width on [0, 1]): mean predicted probability, observed rate and count."""

    edges: tuple[float, ...]
    predicted: tuple[float, ...]
    observed: tuple[float, ...]
    counts: tuple[int, ...]

    @property
    def ece(self) -> float:
        n = sum(self.counts)
        gaps = [c * abs(p - o) for p, o, c in zip(self.predicted, self.observed, self.counts, strict=True) if c]
        return float(sum(gaps) / n)


def reliability(y: np.ndarray, p: np.ndarray, bins: int = ECE_BINS) -> ReliabilityCurve:
    """Bin predictions and compare with outcomes (NaN entries for empty bins)."""
    p = np.asarray(p, float)
    y = np.asarray(y, float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    counts = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p = np.bincount(which, weights=p, minlength=bins) / counts
        mean_y = np.bincount(which, weights=y, minlength=bins) / counts
    return ReliabilityCurve(
        tuple(edges.tolist()), tuple(mean_p.tolist()), tuple(mean_y.tolist()), tuple(int(c) for c in counts)
    )


def ece(y: np.ndarray, p: np.ndarray, bins: int = ECE_BINS) -> float:
    """Expected calibration error with `bins` equal-width bins (see module docstring)."""
    return reliability(y, p, bins).ece
