"""Shared tiny fixtures: one small simulated cohort and one quickly trained forecaster per session."""

from __future__ import annotations

import pytest

from twin_engine import frames
from twin_engine.forecast.pipeline import ForecasterConfig, TwinForecaster
from twin_engine.simulate import SimulatedCohort, SimulatorConfig, simulate_cohort


@pytest.fixture(scope="session")
def cohort() -> SimulatedCohort:
    return simulate_cohort(SimulatorConfig(n_patients=40, days=160, seed=7))


def tiny_config(metric: str = frames.MOOD) -> ForecasterConfig:
    return ForecasterConfig(
        metric=metric, seed=3, windows_per_patient=4, transformer_epochs=1, transformer_d_model=16, xgb_estimators=15
    )


@pytest.fixture(scope="session")
def make_config() -> object:
    return tiny_config


@pytest.fixture(scope="session")
def mood_forecaster(cohort: SimulatedCohort) -> TwinForecaster:
    model = TwinForecaster(tiny_config())
    model.fit(cohort.observations)
    return model
