import numpy as np
import pandas as pd
import pytest

from twin_engine import frames
from twin_engine.errors import FrameSchemaError


def make_frame(**overrides: object) -> pd.DataFrame:
    data = {
        frames.SUBJECT_ID: ["p1", "p1", "p2"],
        frames.TS: pd.to_datetime(["2025-01-02", "2025-01-01", "2025-01-01"], utc=True),
        frames.METRIC: [frames.MOOD] * 3,
        frames.VALUE: [5.0, 6.0, 7.0],
    }
    data.update(overrides)
    return pd.DataFrame(data)


def test_validate_sorts_and_adds_units() -> None:
    out = frames.validate_observations(make_frame())
    assert list(out.columns) == list(frames.COLUMNS)
    assert out[frames.VALUE].tolist() == [6.0, 5.0, 7.0]
    assert set(out[frames.UNIT]) == {"{score}"}


def test_missing_column_is_a_schema_error() -> None:
    with pytest.raises(FrameSchemaError, match="lacks columns"):
        frames.validate_observations(make_frame().drop(columns=[frames.METRIC]))


def test_naive_timestamps_are_rejected() -> None:
    frame = make_frame(**{frames.TS: pd.to_datetime(["2025-01-02", "2025-01-01", "2025-01-01"])})
    with pytest.raises(FrameSchemaError, match="tz-aware"):
        frames.validate_observations(frame)


def test_non_numeric_values_are_rejected() -> None:
    with pytest.raises(FrameSchemaError, match="numeric"):
        frames.validate_observations(make_frame(**{frames.VALUE: ["a", "b", "c"]}))


def test_nan_rows_are_dropped_and_all_nan_is_an_error() -> None:
    out = frames.validate_observations(make_frame(**{frames.VALUE: [np.nan, 1.0, np.inf]}))
    assert len(out) == 1
    with pytest.raises(FrameSchemaError, match="no rows"):
        frames.validate_observations(make_frame(**{frames.VALUE: [np.nan] * 3}))


def test_not_a_frame_is_rejected() -> None:
    with pytest.raises(FrameSchemaError):
        frames.validate_observations([1, 2, 3])  # type: ignore[arg-type]


def test_a_clean_frame_is_copied_unless_the_caller_reads_only() -> None:
    clean = frames.validate_observations(make_frame())
    assert frames.validate_observations(clean) is not clean
    assert frames.validate_observations(clean, copy=False) is clean
