"""`TwinForecaster`: the public forecaster for one metric (frames in, calibrated `Forecast` out).

It owns the members (transformer, XGBoost, baselines), the validation-fitted ensemble and one conformal
calibrator per model, and does the bookkeeping between them: patient-level train/validation/calibration
splits, normalisation scale, clipping to the metric's range, and reliability grades.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin_engine import frames
from twin_engine.errors import InsufficientDataError, ModelArtifactError, NotFittedError, TwinEngineError
from twin_engine.forecast.base import MAX_HORIZON, QUANTILES, Forecast
from twin_engine.forecast.baselines import BaselineModel
from twin_engine.forecast.conformal import ConformalCalibrator
from twin_engine.forecast.ensemble import QuantileEnsemble
from twin_engine.forecast.grid import DEFAULT_COVARIATES, OPTIONAL_COVARIATES, DailyGrid, covariates_for, to_grid
from twin_engine.forecast.transformer import PatchTransformerModel
from twin_engine.forecast.windows import WindowSet, drop_channel, make_windows, sample_origins, truncate_histories
from twin_engine.forecast.xgboost_model import XGBoostQuantileModel

_log = logging.getLogger(__name__)

BASELINES: tuple[str, ...] = ("naive", "seasonal_naive", "patient_mean")
ENSEMBLE_MEMBERS: tuple[str, ...] = ("transformer", "xgboost", "patient_mean", "naive")


@dataclass(frozen=True)
class ForecasterConfig:
    """Training knobs; tiny values make unit tests fast, the defaults train the shipped model."""

    metric: str = frames.MOOD
    covariates: tuple[str, ...] | None = None  # None: `grid.covariates_for(metric)`, fixed at construction
    seed: int = 0
    device: str = "cpu"
    windows_per_patient: int = 12
    short_history_fraction: float = 0.2
    optional_dropout: float = 0.3  # share of training and calibration windows without each optional covariate
    transformer_epochs: int = 12
    transformer_d_model: int = 48
    xgb_estimators: int = 300
    progress: bool = False


@dataclass(frozen=True)
class WindowSplits:
    """Patient-disjoint windows for fitting members, fitting ensemble weights, and conformal calibration."""

    train: WindowSet
    valid: WindowSet
    calib: WindowSet


class TwinForecaster:
    """Ensemble forecaster for one metric, with every member and baseline kept for comparison."""

    def __init__(self, config: ForecasterConfig) -> None:
        if config.metric not in frames.TARGET_RANGES:
            raise TwinEngineError(f"cannot forecast {config.metric!r}; choose from {list(frames.TARGET_RANGES)}")
        covariates = tuple(config.covariates) if config.covariates is not None else covariates_for(config.metric)
        self.config = replace(config, covariates=covariates)
        self.scale: float | None = None
        self.members: dict[str, object] = {}
        self.ensemble = QuantileEnsemble(ENSEMBLE_MEMBERS)
        self.calibrators: dict[str, ConformalCalibrator] = {}

    def grid(self, frame: pd.DataFrame) -> DailyGrid:
        """The daily grid of this forecaster's target and covariates."""
        return to_grid(frame, self.config.metric, covariates=self.covariates)

    @property
    def covariates(self) -> tuple[str, ...]:
        assert self.config.covariates is not None  # resolved in __init__
        return self.config.covariates

    # -- training -----------------------------------------------------------------------------------------
    def split_windows(self, frame: pd.DataFrame) -> WindowSplits:
        """Cut training windows from a frame; 70/15/15% of patients go to train/valid/calibration."""
        grid = self.grid(frame)
        rng = np.random.default_rng(self.config.seed)
        subject, origin = sample_origins(grid, self.config.windows_per_patient, rng)
        target = grid.values[:, :, 0]
        self.scale = float(max(np.nanstd(target), 0.5))
        perm = rng.permutation(len(grid.subject_ids))
        role = np.empty(len(grid.subject_ids), dtype=np.int64)
        n_train, n_valid = int(0.7 * perm.size), int(0.15 * perm.size)
        role[perm[:n_train]], role[perm[n_train : n_train + n_valid]], role[perm[n_train + n_valid :]] = 0, 1, 2
        if len(np.unique(role[subject])) < 3:
            raise InsufficientDataError("need enough patients for train, validation and calibration splits")
        windows = make_windows(grid, subject, origin, self.scale)
        windows = truncate_histories(windows, self.config.short_history_fraction, rng)
        windows = self.drop_optional(windows, rng)
        parts = [windows.subset(role[subject] == r) for r in range(3)]
        return WindowSplits(*parts)

    def drop_optional(self, windows: WindowSet, rng: np.random.Generator) -> WindowSet:
        """Blank each optional covariate this forecaster reads in `optional_dropout` of the windows."""
        for name in OPTIONAL_COVARIATES:
            if name in self.covariates:
                windows = drop_channel(windows, 1 + self.covariates.index(name), self.config.optional_dropout, rng)
        return windows

    def fit(self, frame: pd.DataFrame) -> None:
        """Fit members, ensemble weights and conformal calibrators from an observation frame."""
        self.fit_windows(self.split_windows(frame))

    def fit_windows(self, splits: WindowSplits, calibration: WindowSet | None = None) -> None:
        """Fit on prepared patient-disjoint splits (used by `fit` and by the training CLI).

        `calibration` replaces `splits.calib` for the conformal calibrators when given: the training CLI
        passes windows of a separate simulated cohort whose targets are the scores the patients would
        have reported on every day (see `training.calibration_windows`).
        """
        cfg = self.config
        if self.scale is None:
            self.scale = splits.train.scale
        members: dict[str, object] = {name: BaselineModel(name) for name in BASELINES}
        members["xgboost"] = XGBoostQuantileModel(n_estimators=cfg.xgb_estimators, seed=cfg.seed)
        members["transformer"] = PatchTransformerModel(
            d_model=cfg.transformer_d_model,
            max_epochs=cfg.transformer_epochs,
            seed=cfg.seed,
            device=cfg.device,
            progress=cfg.progress,
        )
        for name, model in members.items():
            start = time.perf_counter()
            model.fit(splits.train, splits.valid)  # type: ignore[attr-defined]
            _log.info("%s: fitted %s in %.1f s", cfg.metric, name, time.perf_counter() - start)
        self.members = members
        valid_raw = self.raw(splits.valid, MAX_HORIZON)
        self.ensemble.fit(valid_raw, splits.valid.targets)
        calib = splits.calib if calibration is None else calibration
        calib_raw = self.raw(calib, MAX_HORIZON)
        calib_raw["ensemble"] = self.ensemble.combine(calib_raw)
        for name, raw in calib_raw.items():
            self.calibrate(name, raw, calib)

    def calibrate(self, name: str, raw: np.ndarray, calib: WindowSet) -> None:
        """Fit (or refit) the conformal calibrator of one model, e.g. an external baseline such as AutoETS."""
        cal = ConformalCalibrator()
        cal.fit(self._clip(raw), calib)
        self.calibrators[name] = cal

    # -- prediction ---------------------------------------------------------------------------------------
    def raw(self, windows: WindowSet, horizon: int, names: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
        """Uncalibrated quantiles of every member, or of `names` only (dict name -> (m, horizon, Q))."""
        if not self.members:
            raise NotFittedError("TwinForecaster used before fit/load")
        chosen = names or tuple(self.members)
        return {name: self.members[name].predict(windows, horizon) for name in chosen}  # type: ignore[attr-defined]

    def calibrated(self, name: str, raw: np.ndarray, windows: WindowSet) -> np.ndarray:
        """Apply a model's conformal calibrator and clip to the metric's range; finite by construction."""
        if name not in self.calibrators:
            raise NotFittedError(f"no conformal calibrator for {name!r}")
        return self._clip(self.calibrators[name].apply(self._clip(raw), windows))

    def predict_windows(self, windows: WindowSet, horizon: int) -> np.ndarray:
        """Calibrated ensemble quantiles (m, horizon, Q)."""
        raw = self.raw(windows, horizon, ENSEMBLE_MEMBERS)
        return self.calibrated("ensemble", self.ensemble.combine(raw), windows)

    def forecast(self, frame: pd.DataFrame, horizon: int = MAX_HORIZON) -> Forecast:
        """Forecast each patient's next `horizon` days after their last observation (any metric).

        Raises:
            FrameSchemaError: malformed frame.  InsufficientDataError: a patient has < 3 target values in
            the last 112 days.  NotFittedError: model not trained or loaded.
        """
        if not 1 <= horizon <= MAX_HORIZON:
            raise TwinEngineError(f"horizon must be between 1 and {MAX_HORIZON} days")
        if self.scale is None:
            raise NotFittedError("TwinForecaster used before fit/load")
        grid = self.grid(frame)
        windows = self.windows_at_end(grid)
        q = self.predict_windows(windows, horizon)
        origins = tuple(pd.Timestamp(d, tz="UTC") for d in grid.first_day + (grid.length - 1))
        return Forecast(
            metric=self.config.metric,
            subject_ids=grid.subject_ids,
            origins=origins,
            horizon=horizon,
            quantile_levels=QUANTILES,
            quantiles=q,
            reliability=tuple(str(g) for g in windows.grade),
            model="ensemble",
        )

    def windows_at_end(self, grid: DailyGrid) -> WindowSet:
        """One window per patient ending at their last observed day."""
        assert self.scale is not None
        subject = np.arange(len(grid.subject_ids))
        return make_windows(grid, subject, grid.length - 1, self.scale, horizon=1)

    def _clip(self, q: np.ndarray) -> np.ndarray:
        lo, hi = frames.TARGET_RANGES[self.config.metric]
        mid = (lo + hi) / 2.0
        return np.clip(np.nan_to_num(q, nan=mid, posinf=hi, neginf=lo), lo, hi)

    # -- persistence --------------------------------------------------------------------------------------
    def save(self, directory: Path) -> dict[str, object]:
        """Write member weights under `directory`; return the JSON config for the registry manifest."""
        if self.scale is None or not self.members:
            raise NotFittedError("cannot save an unfitted TwinForecaster")
        directory.mkdir(parents=True, exist_ok=True)
        return {
            "config": asdict(self.config),
            "scale": self.scale,
            "members": {name: m.save(directory) for name, m in self.members.items()},  # type: ignore[attr-defined]
            "ensemble": self.ensemble.state(),
            "calibrators": {name: c.state() for name, c in self.calibrators.items()},
        }

    @classmethod
    def load(cls, directory: Path, state: dict[str, object], device: str = "cpu") -> TwinForecaster:
        """Rebuild from `save` output; raises ModelArtifactError on missing pieces."""
        try:
            stored: dict[str, Any] = dict(state["config"])  # type: ignore[call-overload]
            # Bundles saved before covariates were configurable (<= 1.2.0) used the default channels.
            stored["covariates"] = tuple(stored.get("covariates") or DEFAULT_COVARIATES)
            config = ForecasterConfig(**{**stored, "device": device, "progress": False})
            members_state: dict[str, dict[str, object]] = state["members"]  # type: ignore[assignment]
            model = cls(config)
            model.scale = float(state["scale"])  # type: ignore[arg-type]
            members: dict[str, object] = {n: BaselineModel.load(n, members_state[n]) for n in BASELINES}
            members["xgboost"] = XGBoostQuantileModel.load(directory, members_state["xgboost"])
            members["transformer"] = PatchTransformerModel.load(directory, members_state["transformer"], device)
            model.members = members
            model.ensemble = QuantileEnsemble.from_state(state["ensemble"])  # type: ignore[arg-type]
            model.calibrators = {
                n: ConformalCalibrator.from_state(s)
                for n, s in state["calibrators"].items()  # type: ignore[attr-defined]
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelArtifactError(f"forecaster state is incomplete or malformed: {exc!r}") from exc
        return model
