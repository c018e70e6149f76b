"""One patient's streams on a common regular grid (days or hours), with explicit missingness and coverage.

Lagged association needs every stream indexed by the same clock: a lag of one day must mean the same
calendar step for sleep and for mood. Values falling in the same cell are averaged (several mood reports a
day become the day's mean); cells without a value stay NaN — nothing is interpolated, because filled
values would fake autocorrelation and shrink the apparent noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from twin_engine import frames
from twin_engine.errors import InsufficientDataError

DAY = "day"
HOUR = "hour"
_FREQ = {DAY: "D", HOUR: "h"}


@dataclass(frozen=True)
class StreamCoverage:
    """How much of the timeline a stream covers (the design documents' `biometric_coverage`)."""

    metric: str
    resolution: str
    observed: int
    span: int

    @property
    def fraction(self) -> float:
        return self.observed / self.span if self.span else 0.0


@dataclass(frozen=True)
class Timeline:
    """Streams as float arrays of equal length; cell k starts at `start + k` steps (UTC)."""

    resolution: str
    start: pd.Timestamp
    values: dict[str, np.ndarray]

    @property
    def length(self) -> int:
        return len(next(iter(self.values.values()))) if self.values else 0

    def coverage(self) -> tuple[StreamCoverage, ...]:
        return tuple(
            StreamCoverage(metric, self.resolution, int(np.isfinite(v).sum()), self.length)
            for metric, v in self.values.items()
        )


def align(observations: pd.DataFrame, metrics: tuple[str, ...], resolution: str) -> Timeline:
    """Put one patient's metrics on a grid spanning their first to last observation of those metrics.

    Raises:
        InsufficientDataError: none of the metrics has a single observation.
    """
    rows = observations[observations[frames.METRIC].isin(metrics)]
    if rows.empty:
        raise InsufficientDataError(f"no observations of {', '.join(metrics)} to align")
    cells = rows[frames.TS].dt.floor(_FREQ[resolution])
    start = cells.min()
    step = pd.Timedelta(1, unit=_FREQ[resolution])
    index = ((cells - start) // step).to_numpy(dtype=np.int64)
    length = int(index.max()) + 1
    values: dict[str, np.ndarray] = {}
    metric_col = rows[frames.METRIC].to_numpy()
    value_col = rows[frames.VALUE].to_numpy(dtype=float)
    for metric in metrics:
        mask = metric_col == metric
        if not mask.any():
            continue
        sums = np.bincount(index[mask], weights=value_col[mask], minlength=length)
        counts = np.bincount(index[mask], minlength=length)
        with np.errstate(invalid="ignore", divide="ignore"):
            values[metric] = np.where(counts > 0, sums / counts, np.nan)
    return Timeline(resolution, start, values)


def reports_per_active_day(observations: pd.DataFrame, metric: str) -> float:
    """Median number of reports on days with any report: tells experience sampling from daily ratings."""
    rows = observations[observations[frames.METRIC] == metric]
    if rows.empty:
        return 0.0
    return float(rows.groupby(rows[frames.TS].dt.floor("D")).size().median())
