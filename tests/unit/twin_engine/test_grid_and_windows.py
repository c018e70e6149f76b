import numpy as np
import pandas as pd
import pytest

from twin_engine import frames
from twin_engine.errors import InsufficientDataError, TwinEngineError
from twin_engine.forecast.grid import MED_CHANNEL, covariates_for, to_grid
from twin_engine.forecast.pipeline import ForecasterConfig, TwinForecaster
from twin_engine.forecast.windows import HISTORY_DAYS, WindowSet, drop_channel, grade_history, make_windows


def rows(subject: str, day: str, metric: str, value: float) -> dict[str, object]:
    return {
        frames.SUBJECT_ID: subject,
        frames.TS: pd.Timestamp(day, tz="UTC"),
        frames.METRIC: metric,
        frames.VALUE: value,
    }


def test_several_reports_a_day_average_and_medication_carries_forward() -> None:
    frame = pd.DataFrame(
        [
            rows("a", "2025-01-01 09:00", frames.MOOD, 4.0),
            rows("a", "2025-01-01 21:00", frames.MOOD, 6.0),
            rows("a", "2025-01-02 08:00", frames.MEDICATION_ON, 1.0),
            rows("a", "2025-01-04 20:00", frames.MOOD, 7.0),
        ]
    )
    grid = to_grid(frame, frames.MOOD)
    assert grid.values.shape[:2] == (1, 4)
    assert grid.values[0, 0, 0] == 5.0
    assert np.isnan(grid.values[0, 1, 0])
    assert grid.values[0, :, MED_CHANNEL].tolist() == [0.0, 1.0, 1.0, 1.0]


def test_windows_pad_with_nan_and_need_three_target_points() -> None:
    frame = pd.DataFrame([rows("a", f"2025-01-0{d}", frames.MOOD, float(d)) for d in range(1, 5)])
    grid = to_grid(frame, frames.MOOD)
    w = make_windows(grid, np.array([0]), np.array([3]), scale=1.0)
    assert w.history.shape == (1, HISTORY_DAYS, grid.values.shape[2])
    assert np.isnan(w.history[0, 0, 0]) and w.history[0, -1, 0] == 4.0
    assert w.loc[0] == pytest.approx(2.5)
    with pytest.raises(InsufficientDataError):
        make_windows(grid, np.array([0]), np.array([1]), scale=1.0)


def test_grades_follow_history_richness() -> None:
    rich = np.full((1, HISTORY_DAYS), 1.0)
    short = np.full((1, HISTORY_DAYS), np.nan)
    short[0, -3:] = 1.0
    assert grade_history(np.vstack([rich, short])).tolist() == ["A", "C"]


def test_rows_of_metrics_the_grid_does_not_hold_stay_off_it() -> None:
    frame = pd.DataFrame(
        [
            rows("a", "2025-01-01", frames.MOOD, 4.0),
            rows("a", "2025-01-01", frames.PHQ9, 20.0),
            rows("a", "2025-01-02", frames.MOOD, 6.0),
        ]
    )
    frame[frames.METRIC] = pd.Categorical(frame[frames.METRIC], categories=[frames.GAD7, frames.PHQ9, frames.MOOD])
    grid = to_grid(frame, frames.MOOD)
    assert grid.values[0, :, 0].tolist() == [4.0, 6.0]
    assert np.isnan(grid.values[0, :, 1:MED_CHANNEL]).all()


def test_subjects_are_ordered_by_id_whatever_the_row_order() -> None:
    frame = pd.DataFrame([rows("b", "2025-01-01", frames.MOOD, 1.0), rows("a", "2025-01-03", frames.MOOD, 2.0)])
    grid = to_grid(frame, frames.MOOD)
    assert grid.subject_ids == ("a", "b")
    assert grid.values[0, 0, 0] == 2.0 and grid.values[1, 0, 0] == 1.0


def test_questionnaire_grids_carry_the_daily_mood_rating_before_the_medication_flag() -> None:
    frame = pd.DataFrame([rows("a", "2025-01-01", frames.PHQ9, 12.0), rows("a", "2025-01-02", frames.MOOD, 4.0)])
    covariates = covariates_for(frames.PHQ9)
    grid = to_grid(frame, frames.PHQ9, covariates=covariates)
    assert covariates[-2:] == (frames.MOOD, frames.MEDICATION_ON)
    assert grid.values[0, 1, 1 + covariates.index(frames.MOOD)] == 4.0
    assert covariates_for(frames.MOOD) == frames.DAILY_COVARIATES


def test_covariates_must_end_with_the_medication_flag() -> None:
    frame = pd.DataFrame([rows("a", "2025-01-01", frames.MOOD, 4.0)])
    with pytest.raises(TwinEngineError):
        to_grid(frame, frames.MOOD, covariates=(frames.MEDICATION_ON, frames.STEPS))


def _phq9_windows() -> tuple[WindowSet, int]:
    days = [f"2025-01-{d:02d}" for d in range(1, 11)]
    frame = pd.DataFrame(
        [rows("a", day, frames.PHQ9, float(k)) for k, day in enumerate(days)]
        + [rows("a", day, frames.MOOD, 5.0) for day in days]
    )
    covariates = covariates_for(frames.PHQ9)
    grid = to_grid(frame, frames.PHQ9, covariates=covariates)
    subject, origin = np.zeros(8, dtype=np.int64), np.full(8, 9)
    return make_windows(grid, subject, origin, scale=1.0), 1 + covariates.index(frames.MOOD)


def test_dropping_a_channel_blanks_it_in_the_chosen_windows_only() -> None:
    windows, mood = _phq9_windows()
    dropped = drop_channel(windows, mood, 1.0, np.random.default_rng(0))
    assert np.isnan(dropped.history[:, :, mood]).all()
    assert np.array_equal(dropped.history[:, :, 0], windows.history[:, :, 0], equal_nan=True)
    assert drop_channel(windows, mood, 0.0, np.random.default_rng(0)) is windows


def test_a_questionnaire_forecaster_learns_without_the_mood_rating_too() -> None:
    windows, mood = _phq9_windows()
    reads_mood = TwinForecaster(ForecasterConfig(metric=frames.PHQ9, optional_dropout=1.0))
    assert np.isnan(reads_mood.drop_optional(windows, np.random.default_rng(0)).history[:, :, mood]).all()
    mood_model = TwinForecaster(ForecasterConfig(metric=frames.MOOD, optional_dropout=1.0))
    assert mood_model.drop_optional(windows, np.random.default_rng(0)) is windows
