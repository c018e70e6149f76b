"""Input checks shared by anomaly and trend detection: one clean, time-sorted, NaN-free series."""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin_engine import frames
from twin_engine.monitoring.errors import MonitoringInputError, TooFewPointsError


def clean_series(series: pd.Series, min_points: int) -> pd.Series:
    """Finite values on a tz-aware (UTC) DatetimeIndex, sorted, duplicates averaged.

    Raises:
        MonitoringInputError: not a Series, index not tz-aware datetimes, values not numeric.
        TooFewPointsError: fewer than `min_points` finite points remain.
    """
    if not isinstance(series, pd.Series):
        raise MonitoringInputError(f"expected a pandas Series, got {type(series).__name__}")
    index = series.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise MonitoringInputError("the series needs a tz-aware DatetimeIndex (UTC)")
    try:
        values = pd.to_numeric(series, errors="raise").astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise MonitoringInputError(f"series values must be numeric: {exc}") from exc
    values.index = index.tz_convert("UTC")
    values = values[np.isfinite(values.to_numpy())]
    values = values.groupby(level=0).mean().sort_index()
    if len(values) < min_points:
        raise TooFewPointsError(f"need at least {min_points} finite points, got {len(values)}")
    return values


def series_from_frame(frame: pd.DataFrame, subject_id: str, metric: str) -> pd.Series:
    """One subject's values of one metric from an observation frame, indexed by timestamp."""
    frame = frames.validate_observations(frame)
    rows = frame[(frame[frames.SUBJECT_ID] == subject_id).to_numpy() & (frame[frames.METRIC] == metric).to_numpy()]
    if rows.empty:
        raise MonitoringInputError(f"no {metric!r} observations for subject {subject_id!r}")
    return pd.Series(rows[frames.VALUE].to_numpy(), index=pd.DatetimeIndex(rows[frames.TS]), name=metric)
