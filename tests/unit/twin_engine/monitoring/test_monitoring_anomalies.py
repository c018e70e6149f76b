import dataclasses

import numpy as np
import pandas as pd
import pytest

from twin_engine import frames
from twin_engine.monitoring import (
    MonitoringInputError,
    TooFewPointsError,
    detect_anomalies,
    detect_frame_anomalies,
)


def daily_steps(seed: int, days: int = 120) -> pd.Series:
    """Weekday ~8,000 steps, weekends +4,000 (a weekly rhythm), a slow upward drift, noise."""
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2025-01-01", periods=days, freq="D", tz="UTC")
    weekend = np.where(idx.dayofweek >= 5, 4000.0, 0.0)
    return pd.Series(8000 + weekend + np.linspace(0, 1000, days) + rng.normal(0, 500, days), index=idx)


def hourly_heart_rate(seed: int, days: int = 21) -> pd.Series:
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2025-01-01", periods=24 * days, freq="h", tz="UTC")
    return pd.Series(60 + 10 * np.sin(2 * np.pi * idx.hour / 24) + rng.normal(0, 2, idx.size), index=idx)


def test_weekly_rhythm_is_not_flagged() -> None:
    assert detect_anomalies(daily_steps(0)).anomalies == ()


def test_injected_spike_is_flagged_with_high_confidence() -> None:
    s = daily_steps(0)
    s.iloc[60] += 5000
    report = detect_anomalies(s)
    assert [a.ts for a in report.anomalies] == [s.index[60]]
    assert report.anomalies[0].direction == "high" and report.anomalies[0].confidence > 0.99


def test_a_weekday_drop_to_weekend_level_is_not_hidden_by_the_weekly_profile() -> None:
    s = daily_steps(1)
    monday = int(np.flatnonzero(s.index.dayofweek == 0)[8])
    s.iloc[monday] -= 4000
    assert s.index[monday] in {a.ts for a in detect_anomalies(s).anomalies}


def test_circadian_rhythm_is_expected_and_a_night_time_spike_is_flagged() -> None:
    s = hourly_heart_rate(2)
    assert detect_anomalies(s, "hourly").anomalies == ()
    s.iloc[24 * 10 + 3] += 25
    assert [a.ts for a in detect_anomalies(s, "hourly").anomalies] == [s.index[24 * 10 + 3]]


def test_nans_are_dropped_and_never_reach_the_report() -> None:
    s = daily_steps(3)
    s.iloc[::9] = np.nan
    s.iloc[40] = 30000
    report = detect_anomalies(s)
    assert report.n_points == int(s.notna().sum())
    for a in report.anomalies:
        assert all(np.isfinite([v for v in dataclasses.asdict(a).values() if isinstance(v, float)]))


def test_constant_stream_gives_no_anomalies_and_no_nan() -> None:
    idx = pd.date_range("2025-01-01", periods=30, freq="D", tz="UTC")
    report = detect_anomalies(pd.Series(70.0, index=idx))
    assert report.anomalies == () and np.isfinite(report.residual_scale)


def test_empty_or_too_short_stream_is_a_typed_error() -> None:
    idx = pd.date_range("2025-01-01", periods=5, freq="D", tz="UTC")
    with pytest.raises(TooFewPointsError):
        detect_anomalies(pd.Series([np.nan] * 5, index=idx))


def test_naive_timestamps_are_malformed_input() -> None:
    with pytest.raises(MonitoringInputError):
        detect_anomalies(pd.Series(1.0, index=pd.date_range("2025-01-01", periods=30, freq="D")))


def test_frame_entry_point_reads_one_subject_and_metric() -> None:
    s = daily_steps(4)
    s.iloc[50] -= 6000
    frame = pd.DataFrame(
        {
            frames.SUBJECT_ID: "p1",
            frames.TS: s.index,
            frames.METRIC: frames.STEPS,
            frames.VALUE: s.to_numpy(),
            frames.UNIT: "{steps}",
        }
    )
    report = detect_frame_anomalies(frame, "p1", frames.STEPS)
    assert [a.direction for a in report.anomalies] == ["low"]
    with pytest.raises(MonitoringInputError):
        detect_frame_anomalies(frame, "p2", frames.STEPS)
