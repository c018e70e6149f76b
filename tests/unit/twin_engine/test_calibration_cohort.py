from dataclasses import replace

import numpy as np

from twin_engine import frames
from twin_engine.forecast.evaluation import TEST_SEED_OFFSET
from twin_engine.forecast.pipeline import ForecasterConfig, TwinForecaster
from twin_engine.forecast.training import calibration_config, calibration_windows
from twin_engine.simulate import SimulatorConfig, simulate_cohort


def test_calibration_cohort_is_fresh_patients_scored_on_every_horizon_day() -> None:
    sim = SimulatorConfig(n_patients=10, days=365, seed=3)
    cfg = calibration_config(sim)
    assert cfg.n_patients == 40 and cfg.days == 240
    assert cfg.seed not in (sim.seed, sim.seed + TEST_SEED_OFFSET)
    assert calibration_config(sim, 7).n_patients == 7
    cohort = simulate_cohort(replace(cfg, n_patients=12, days=120))
    model = TwinForecaster(ForecasterConfig(metric=frames.PHQ9))
    model.scale = 5.0
    windows = calibration_windows(cohort, model, seed=0)
    assert len(windows) > 0
    assert np.isfinite(windows.targets).all()  # weekly questionnaire, yet every horizon day has a target
