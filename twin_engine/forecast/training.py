"""Train the forecaster bundle from simulated patients and store it in the registry.

This is the code path behind `novamind train forecaster` and the shipped default model: the training
data description (simulator config and a hash of the observation frame) goes into the manifest so the
artifact can be regenerated and audited.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from twin_engine import frames
from twin_engine.forecast.autoets import AutoETSModel
from twin_engine.forecast.base import MAX_HORIZON
from twin_engine.forecast.pipeline import ForecasterConfig, TwinForecaster
from twin_engine.registry import Artifact, load_artifact, save_artifact
from twin_engine.simulate import SimulatorConfig, simulate_cohort

FORECASTER_NAME = "forecaster"
DEFAULT_METRICS: tuple[str, ...] = (frames.MOOD, frames.PHQ9)
PACKAGED_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
AUTOETS_CALIBRATION_WINDOWS = 1500
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingResult:
    """What `train_bundle` produced: the fitted models and how long it took."""

    models: dict[str, TwinForecaster]
    seconds: float
    training_data: dict[str, object]


def frame_hash(frame: pd.DataFrame) -> str:
    """SHA-256 of an observation frame's contents (identifies the training data)."""
    digest = hashlib.sha256()
    for column in frame.columns:
        digest.update(pd.util.hash_pandas_object(frame[column], index=False).to_numpy().tobytes())
    return digest.hexdigest()


def train_bundle(
    sim: SimulatorConfig,
    base: ForecasterConfig,
    metrics: tuple[str, ...] = DEFAULT_METRICS,
    calibrate_autoets: bool = True,
) -> TrainingResult:
    """Simulate a training cohort and fit one `TwinForecaster` per metric."""
    start = time.perf_counter()
    cohort = simulate_cohort(sim)
    _log.info("simulated %d observations in %.1f s", len(cohort.observations), time.perf_counter() - start)
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
        model.fit_windows(splits)
        if calibrate_autoets:
            # AutoETS gets its own conformal calibrator so it is compared "with conformal intervals".
            calib = splits.calib
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
