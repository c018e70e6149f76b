from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from twin_engine import frames
from twin_engine.device import select_device
from twin_engine.errors import DeviceUnavailableError, FrameSchemaError, InsufficientDataError, NotFittedError
from twin_engine.forecast import Forecast, TwinForecaster
from twin_engine.forecast.training import FORECASTER_NAME
from twin_engine.registry import load_artifact, save_artifact
from twin_engine.simulate import SimulatedCohort


def patient_frame(cohort: SimulatedCohort, index: int) -> pd.DataFrame:
    obs = cohort.observations
    return obs[obs[frames.SUBJECT_ID] == cohort.subject_ids[index]].copy()


def test_forecast_is_finite_sorted_and_within_range(mood_forecaster: TwinForecaster, cohort: SimulatedCohort) -> None:
    fc = mood_forecaster.forecast(cohort.observations, horizon=14)
    assert isinstance(fc, Forecast)
    assert fc.quantiles.shape == (40, 14, len(fc.quantile_levels))
    assert np.isfinite(fc.quantiles).all()
    assert np.all(np.diff(fc.quantiles, axis=-1) >= -1e-9)
    assert fc.quantiles.min() >= 0.0 and fc.quantiles.max() <= 10.0
    lo80, hi80 = fc.interval(0.8)
    lo95, hi95 = fc.interval(0.95)
    assert np.all(lo95 <= lo80) and np.all(hi80 <= hi95)
    table = fc.to_frame()
    assert len(table) == 40 * 14 and table["point"].notna().all()


def test_three_points_get_a_grade_c_forecast(mood_forecaster: TwinForecaster, cohort: SimulatedCohort) -> None:
    full = patient_frame(cohort, 0)
    short = mood_forecaster.forecast(full[full[frames.METRIC] == frames.MOOD].tail(3), horizon=7)
    rich = mood_forecaster.forecast(full, horizon=7)
    assert short.reliability == ("C",)
    assert rich.reliability == ("A",)
    lo, hi = short.interval(0.95)
    assert np.isfinite(short.quantiles).all() and np.all(hi > lo)


def test_two_points_raise_insufficient_data(mood_forecaster: TwinForecaster, cohort: SimulatedCohort) -> None:
    full = patient_frame(cohort, 1)
    with pytest.raises(InsufficientDataError):
        mood_forecaster.forecast(full[full[frames.METRIC] == frames.MOOD].tail(2))


def test_empty_or_malformed_frames_raise_typed_errors(mood_forecaster: TwinForecaster) -> None:
    with pytest.raises(FrameSchemaError):
        mood_forecaster.forecast(pd.DataFrame())
    with pytest.raises(FrameSchemaError):
        mood_forecaster.forecast(
            pd.DataFrame({frames.SUBJECT_ID: ["a"], frames.TS: ["x"], frames.METRIC: ["m"], frames.VALUE: [1]})
        )


def test_nan_inputs_never_reach_the_output(mood_forecaster: TwinForecaster, cohort: SimulatedCohort) -> None:
    frame = patient_frame(cohort, 2)
    frame.loc[frame.index[::3], frames.VALUE] = np.nan
    fc = mood_forecaster.forecast(frame)
    assert np.isfinite(fc.quantiles).all()


def test_unfitted_model_raises_not_fitted(cohort: SimulatedCohort, make_config) -> None:
    with pytest.raises(NotFittedError):
        TwinForecaster(make_config()).forecast(cohort.observations)


def test_save_and_load_reproduce_the_forecast(
    mood_forecaster: TwinForecaster, cohort: SimulatedCohort, tmp_path: Path
) -> None:
    def write(directory: Path) -> dict[str, object]:
        return {frames.MOOD: mood_forecaster.save(directory / frames.MOOD)}

    save_artifact(tmp_path, FORECASTER_NAME, "0.0.1", write, {}, {"source": "test"})
    art = load_artifact(tmp_path, FORECASTER_NAME, "0.0.1")
    loaded = TwinForecaster.load(art.directory / frames.MOOD, art.manifest["config"][frames.MOOD], "cpu")  # type: ignore[index]
    a = mood_forecaster.forecast(cohort.observations, 7).quantiles
    b = loaded.forecast(cohort.observations, 7).quantiles
    assert np.allclose(a, b, atol=1e-4)


def test_device_selection_is_explicit() -> None:
    assert select_device("cpu").type == "cpu"
    assert select_device(None).type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(DeviceUnavailableError):
        select_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceUnavailableError):
            select_device("cuda")


def test_models_beat_the_naive_forecast_on_training_patients(
    mood_forecaster: TwinForecaster, cohort: SimulatedCohort
) -> None:
    # A sanity floor, not the benchmark: even a one-epoch ensemble must beat repeating the last value.
    splits = mood_forecaster.split_windows(cohort.observations)
    raw = mood_forecaster.raw(splits.calib, 28)
    q = mood_forecaster.predict_windows(splits.calib, 28)
    y = splits.calib.targets
    ok = np.isfinite(y)
    err = lambda p: float(np.mean(np.abs(p - y)[ok]))  # noqa: E731
    assert err(q[:, :, 4]) < err(raw["naive"][:, :, 4])
