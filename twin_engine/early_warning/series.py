"""Observation frame -> per-patient daily matrices (mean and number of reports per day) for the indicators.

Several reports a day are averaged: with independent reading noise the daily mean is the sufficient
statistic for the day's latent mood, and it puts 5-a-day and 1-a-day patients on the same daily grid.

Invariants of `DailySeries`: arrays are (n_subjects, days); day k is ``start + k`` days (UTC); ``mean`` is
NaN exactly where ``count`` is 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from twin_engine import frames
from twin_engine.early_warning.errors import EarlyWarningInputError

_NS_PER_DAY = 86_400 * 10**9


@dataclass(frozen=True)
class DailySeries:
    """Daily aggregates of one metric for a list of subjects."""

    subject_ids: tuple[str, ...]
    start: pd.Timestamp
    mean: np.ndarray
    count: np.ndarray

    @property
    def days(self) -> int:
        return int(self.mean.shape[1])


def daily_series(
    frame: pd.DataFrame,
    metric: str = frames.MOOD,
    *,
    start: pd.Timestamp | None = None,
    days: int | None = None,
    subject_ids: tuple[str, ...] | None = None,
) -> DailySeries:
    """Aggregate a (validated) observation frame into daily matrices, one row per subject.

    Days are UTC calendar days counted from `start` (default: midnight of the first report); reports
    outside ``[start, start + days)`` are ignored. NaN values never reach the matrices.
    """
    rows = frame[(frame[frames.METRIC] == metric).to_numpy() & np.isfinite(frame[frames.VALUE].to_numpy())]
    if rows.empty:
        raise EarlyWarningInputError(f"no finite {metric!r} reports in the frame")
    ts_ns = rows[frames.TS].array.asi8  # type: ignore[attr-defined]
    start = start if start is not None else pd.Timestamp(int(ts_ns.min()), tz="UTC").floor("D")
    day = (ts_ns - start.value) // _NS_PER_DAY
    days = days if days is not None else int(day.max()) + 1
    ids = subject_ids if subject_ids is not None else tuple(sorted(map(str, pd.unique(rows[frames.SUBJECT_ID]))))
    codes = pd.Categorical(rows[frames.SUBJECT_ID].astype(str), categories=list(ids)).codes
    keep = (day >= 0) & (day < days) & (codes >= 0)
    flat = codes[keep].astype(np.int64) * days + day[keep]
    values = rows[frames.VALUE].to_numpy()[keep]
    size = len(ids) * days
    count = np.bincount(flat, minlength=size).astype(np.float64)
    total = np.bincount(flat, weights=values, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / count, np.nan)
    shape = (len(ids), days)
    return DailySeries(ids, start, mean.reshape(shape), count.reshape(shape))
