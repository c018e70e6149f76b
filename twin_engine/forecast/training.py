"""Train the forecaster bundle from simulated patients and store it in the registry.

This is the code path behind `novamind train forecaster` and the shipped default model: the training
data description (simulator config and a hash of the observation frame) goes into the manifest so the
artifact can be regenerated and audited.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from twin_engine import frames
from twin_engine.forecast.autoets import AutoETSModel
from twin_engine.forecast.base import MAX_HORIZON
from twin_engine.forecast.evaluation import test_windows
from twin_engine.forecast.pipeline import ForecasterConfig, TwinForecaster
from twin_engine.forecast.windows import WindowSet
from twin_engine.registry import Artifact, frame_hash, load_artifact, save_artifact
from twin_engine.simulate import SimulatedCohort, SimulatorConfig, simulate_cohort

FORECASTER_NAME = "forecaster"
DEFAULT_METRICS: tuple[str, ...] = (frames.MOOD, frames.PHQ9, frames.GAD7)
PACKAGED_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
AUTOETS_CALIBRATION_WINDOWS = 1500
# Conformal calibration cohort: fresh simulated patients (never the training or the evaluation patients:
# evaluation uses seed + 1000), CALIBRATION_PATIENT_FACTOR x the training cohort, at most CALIBRATION_DAYS
# days each, CALIBRATION_WINDOWS_PER_PATIENT origins per patient drawn as for held-out evaluation.
CALIBRATION_SEED_OFFSET = 100_000
CALIBRATION_PATIENT_FACTOR = 4
CALIBRATION_DAYS = 240
CALIBRATION_WINDOWS_PER_PATIENT = 4
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingResult:
    """What `train_bundle` produced: the fitted models and how long it took."""

    models: dict[str, TwinForecaster]
    seconds: float
    training_data: dict[str, object]


def calibration_config(sim: SimulatorConfig, patients: int | None = None) -> SimulatorConfig:
    """The simulator settings of the conformal calibration cohort that goes with training cohort `sim`."""
    return SimulatorConfig(
        n_patients=patients or CALIBRATION_PATIENT_FACTOR * sim.n_patients,
        days=min(sim.days, CALIBRATION_DAYS),
        seed=sim.seed + CALIBRATION_SEED_OFFSET,
    )


def calibration_windows(cohort: SimulatedCohort, model: TwinForecaster, seed: int) -> WindowSet:
    """Calibration windows with the score each patient *would* have reported on every future day as target.

    Observed targets are sparse for questionnaires (a few of the 28 days) and, for daily ratings, missing
    more often when the patient is worse (missing not at random), so conformal factors fitted on them
    were too few per stratum and biased low. The simulator knows the would-report score on every day, so
    every window calibrates all 28 horizons. With real patients this is not available; `fit` then
    calibrates on the observed targets of its held-out calibration split.
    """
    assert model.scale is not None, "calibration windows are cut in the scale of a model's training split"
    grid = model.grid(cohort.observations)
    windows, _, _ = test_windows(cohort, grid, model.scale, CALIBRATION_WINDOWS_PER_PATIENT, seed)
    return model.drop_optional(windows, np.random.default_rng(seed))


def train_bundle(
    sim: SimulatorConfig,
    base: ForecasterConfig,
    metrics: tuple[str, ...] = DEFAULT_METRICS,
    calibrate_autoets: bool = True,
    calibration_patients: int | None = None,
) -> TrainingResult:
    """Simulate a training cohort and fit one `TwinForecaster` per metric.

    Members and ensemble weights are fitted on the training cohort; conformal calibrators on a separate
    calibration cohort (`calibration_config`), `calibration_patients` patients (default 4x training).
    """
    start = time.perf_counter()
    cohort = simulate_cohort(sim)
    _log.info("simulated %d observations in %.1f s", len(cohort.observations), time.perf_counter() - start)
    calib_sim = calibration_config(sim, calibration_patients)
    calib_cohort = simulate_cohort(calib_sim)
    _log.info("simulated calibration cohort (%d patients) at %.1f s", calib_sim.n_patients, time.perf_counter() - start)
    models: dict[str, TwinForecaster] = {}
    for metric in metrics:
        model = TwinForecaster(replace(base, metric=metric))
        splits = model.split_windows(cohort.observations)
        _log.info(
            "%s: %d/%d/%d windows at %.1f s",
            metric,
            len(splits.train),
            len(splits.valid),
            len(splits.calib),
            time.perf_counter() - start,
        )
        calib = calibration_windows(calib_cohort, model, base.seed)
        _log.info("%s: %d calibration windows", metric, len(calib))
        model.fit_windows(splits, calibration=calib)
        if calibrate_autoets:
            # AutoETS gets its own conformal calibrator so it is compared "with conformal intervals".
            if len(calib) > AUTOETS_CALIBRATION_WINDOWS:
                rows = np.random.default_rng(base.seed).choice(len(calib), AUTOETS_CALIBRATION_WINDOWS, replace=False)
                calib = calib.subset(np.sort(rows))
            model.calibrate("autoets", AutoETSModel().predict(calib, MAX_HORIZON), calib)
        _log.info("%s: done at %.1f s", metric, time.perf_counter() - start)
        models[metric] = model
    training_data = {
        "source": "twin_engine.simulate (synthetic patients, no real data)",
        "simulator": asdict(sim),
        "observations": len(cohort.observations),
        "observations_sha256": frame_hash(cohort.observations),
        "metrics": list(metrics),
        "calibration": {
            "simulator": asdict(calib_sim),
            "windows_per_patient": CALIBRATION_WINDOWS_PER_PATIENT,
            "targets": "would-report score on every horizon day (simulator potential outcomes)",
            "observations_sha256": frame_hash(calib_cohort.observations),
        },
    }
    return TrainingResult(models, time.perf_counter() - start, training_data)


def save_bundle(result: TrainingResult, models_dir: Path, version: str) -> Artifact:
    """Store a trained bundle (one sub-directory per metric) as a registry artifact."""

    def write(directory: Path) -> dict[str, object]:
        return {metric: model.save(directory / metric) for metric, model in result.models.items()}

    metrics: dict[str, object] = {"training_seconds": round(result.seconds, 1)}
    return save_artifact(models_dir, FORECASTER_NAME, version, write, metrics, result.training_data)


def load_bundle(
    models_dir: Path | None = None, version: str | None = None, device: str = "cpu"
) -> dict[str, TwinForecaster]:
    """Load a forecaster bundle (default: the newest one shipped inside the package)."""
    artifact = load_artifact(models_dir or PACKAGED_MODELS_DIR, FORECASTER_NAME, version)
    config: dict[str, dict[str, object]] = artifact.manifest["config"]  # type: ignore[assignment]
    return {metric: TwinForecaster.load(artifact.directory / metric, state, device) for metric, state in config.items()}
