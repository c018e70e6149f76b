"""Frame contract of the twin engine: the one place where column names are spelled.

An *observation frame* is tidy long format (statsforecast style), one row per measurement:

- ``subject_id`` (str): the patient;
- ``ts`` (datetime64[ns, UTC]): when the measurement was taken, tz-aware UTC;
- ``metric`` (str): one of the metric names below (free-form names are allowed but ignored by the models);
- ``value`` (float): finite; rows with NaN values are dropped by `validate_observations`;
- ``unit`` (str): UCUM-ish unit, informative only.

Guarantees after `validate_observations`: the columns above exist with those dtypes, there is at least one
row, no value is NaN or infinite, and rows are sorted by (subject_id, ts).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin_engine.errors import FrameSchemaError

SUBJECT_ID = "subject_id"
TS = "ts"
METRIC = "metric"
VALUE = "value"
UNIT = "unit"
COLUMNS: tuple[str, ...] = (SUBJECT_ID, TS, METRIC, VALUE, UNIT)

# Metric names the simulator emits and the forecasters understand.
PHQ9 = "phq9_total"
GAD7 = "gad7_total"
MOOD = "mood_rating"
ANXIETY = "anxiety_rating"
SLEEP_HOURS = "sleep_duration_h"
HRV_MS = "hrv_rmssd_ms"
RESTING_HR = "resting_heart_rate_bpm"
STEPS = "steps"
ACTIVE_MINUTES = "active_minutes"
HOURLY_HRV_MS = "hrv_rmssd_ms_hourly"
HOURLY_HR = "heart_rate_bpm_hourly"
MEDICATION_ON = "antidepressant_on"

UNITS: dict[str, str] = {
    PHQ9: "{score}",
    GAD7: "{score}",
    MOOD: "{score}",
    ANXIETY: "{score}",
    SLEEP_HOURS: "h",
    HRV_MS: "ms",
    RESTING_HR: "/min",
    STEPS: "{steps}",
    ACTIVE_MINUTES: "min",
    HOURLY_HRV_MS: "ms",
    HOURLY_HR: "/min",
    MEDICATION_ON: "{flag}",
}

# Daily covariates the forecasters use as exogenous inputs (past values only).
DAILY_COVARIATES: tuple[str, ...] = (SLEEP_HOURS, HRV_MS, RESTING_HR, STEPS, MEDICATION_ON)
# Metrics that can be forecast, with their valid range (clip range of point forecasts and quantiles).
TARGET_RANGES: dict[str, tuple[float, float]] = {PHQ9: (0.0, 27.0), GAD7: (0.0, 21.0), MOOD: (0.0, 10.0)}


def empty_observations() -> pd.DataFrame:
    """An empty frame with the right columns and dtypes (useful as a concat seed)."""
    return pd.DataFrame(
        {
            SUBJECT_ID: pd.Series([], dtype="object"),
            TS: pd.Series([], dtype="datetime64[ns, UTC]"),
            METRIC: pd.Series([], dtype="object"),
            VALUE: pd.Series([], dtype="float64"),
            UNIT: pd.Series([], dtype="object"),
        }
    )


def validate_observations(frame: pd.DataFrame, copy: bool = True) -> pd.DataFrame:
    """Check a frame against the contract and return a cleaned, sorted copy.

    With `copy=False` a frame that is already clean comes back as the same object, for read-only
    callers on the single-forecast path (copying costs a fifth of a millisecond there).

    Raises:
        FrameSchemaError: not a DataFrame, missing columns, naive or unparsable timestamps, non-numeric
            values, or no usable rows at all.
    """
    if not isinstance(frame, pd.DataFrame):
        raise FrameSchemaError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in (SUBJECT_ID, TS, METRIC, VALUE) if c not in frame.columns]
    if missing:
        raise FrameSchemaError(f"observation frame lacks columns {missing}")
    # Work on a copy only when something must change: single forecasts have a budget of a few ms.
    out = frame if list(frame.columns) == list(COLUMNS) else frame.loc[:, [c for c in COLUMNS if c in frame.columns]]
    copied = out is not frame
    ts = out[TS]
    if not isinstance(ts.dtype, pd.DatetimeTZDtype):
        raise FrameSchemaError(f"column {TS!r} must be tz-aware datetimes (UTC), got {ts.dtype}")
    updates: dict[str, pd.Series] = {}
    if UNIT not in out.columns:
        updates[UNIT] = out[METRIC].map(UNITS).fillna("")
    if str(ts.dtype.tz) != "UTC":
        updates[TS] = ts.dt.tz_convert("UTC")
    if out[VALUE].dtype != np.float64:
        try:
            updates[VALUE] = pd.to_numeric(out[VALUE], errors="raise").astype("float64")
        except (TypeError, ValueError) as exc:
            raise FrameSchemaError(f"column {VALUE!r} must be numeric: {exc}") from exc
    # Categorical columns stay categorical: large simulated cohorts would pay seconds for object strings.
    for column in (SUBJECT_ID, METRIC):
        dtype = out[column].dtype
        if not isinstance(dtype, pd.CategoricalDtype) and not (
            pd.api.types.is_object_dtype(dtype) and _all_str(out[column])
        ):
            updates[column] = out[column].astype(str)
    if updates:
        out = out.assign(**updates) if copied else frame.assign(**updates)
        copied = True
    finite = np.isfinite(out[VALUE].to_numpy())
    if not finite.all():
        out = out[finite]
        copied = True
    if out.empty:
        raise FrameSchemaError("observation frame has no rows with a finite value")
    if not _is_sorted(out):
        return out.loc[:, list(COLUMNS)].sort_values([SUBJECT_ID, TS], kind="stable", ignore_index=True)
    out = out.loc[:, list(COLUMNS)] if list(out.columns) != list(COLUMNS) else out
    if copied:
        return out.reset_index(drop=True)
    return out.copy() if copy else out


def _is_sorted(frame: pd.DataFrame) -> bool:
    """Whether rows are already ordered by (subject_id, ts), checked without sorting."""
    subject = frame[SUBJECT_ID]
    keys = subject.cat.codes.to_numpy() if isinstance(subject.dtype, pd.CategoricalDtype) else subject.to_numpy()
    ts = frame[TS].array.asi8  # type: ignore[attr-defined]
    if len(keys) < 2:
        return True
    same = keys[1:] == keys[:-1]
    return bool(np.all((keys[1:] > keys[:-1]) | (same & (ts[1:] >= ts[:-1]))))


def _all_str(column: pd.Series) -> bool:
    values = column.to_numpy()
    return bool(values.size == 0 or (isinstance(values[0], str) and pd.api.types.infer_dtype(values) == "string"))
