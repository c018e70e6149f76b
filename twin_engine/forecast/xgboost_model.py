"""Direct multi-horizon XGBoost quantile model on lag/rolling/covariate features.

One booster with the horizon as a feature predicts every day of the horizon directly (no recursion) and
all quantiles at once (`reg:quantileerror` with a vector of alphas). Saved as gzipped XGBoost JSON (a
portable, non-pickle format) so it ships as package data at a fraction of the plain JSON size.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import xgboost as xgb

from twin_engine.errors import ModelArtifactError, NotFittedError
from twin_engine.forecast.base import QUANTILES
from twin_engine.forecast.features import horizon_rows, window_features
from twin_engine.forecast.windows import WindowSet


def _training_rows(w: WindowSet, per_window: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(features+horizon, normalised target) for up to `per_window` observed horizons per window."""
    feats = window_features(w)
    xs, ys = [], []
    for row in range(len(w)):
        observed = np.flatnonzero(np.isfinite(w.targets[row]))
        if observed.size == 0:
            continue
        pick = rng.choice(observed, min(per_window, observed.size), replace=False)
        xs.append(horizon_rows(feats[row : row + 1], pick + 1))
        ys.append((w.targets[row, pick] - w.loc[row]) / w.scale)
    return np.vstack(xs), np.concatenate(ys)


class XGBoostQuantileModel:
    """Gradient-boosted trees predicting all `QUANTILES` of the normalised target per horizon day."""

    name = "xgboost"

    def __init__(
        self,
        n_estimators: int = 300,
        max_depth: int = 4,
        learning_rate: float = 0.08,
        seed: int = 0,
        threads: int = 2,
    ) -> None:
        self.params = {
            "objective": "reg:quantileerror",
            "quantile_alpha": np.asarray(QUANTILES),
            "tree_method": "hist",
            "max_depth": max_depth,
            "learning_rate": learning_rate,
            "subsample": 0.8,
            "colsample_bytree": 0.8,
            "min_child_weight": 5.0,
            "seed": seed,
            "nthread": threads,
        }
        self.n_estimators = n_estimators
        self.seed = seed
        self._booster: xgb.Booster | None = None

    def fit(self, train: WindowSet, valid: WindowSet) -> None:
        """Train with early stopping on the validation windows' quantile loss."""
        rng = np.random.default_rng(self.seed)
        x, y = _training_rows(train, 6, rng)
        xv, yv = _training_rows(valid, 6, rng)
        dtrain, dvalid = xgb.DMatrix(x, label=y), xgb.DMatrix(xv, label=yv)
        self._booster = xgb.train(
            self.params,
            dtrain,
            num_boost_round=self.n_estimators,
            evals=[(dvalid, "valid")],
            early_stopping_rounds=30,
            verbose_eval=False,
        )

    def predict(self, windows: WindowSet, horizon: int) -> np.ndarray:
        """Raw quantiles (m, horizon, len(QUANTILES)) in the metric's units."""
        if self._booster is None:
            raise NotFittedError("XGBoostQuantileModel.predict before fit/load")
        rows = horizon_rows(window_features(windows), np.arange(1, horizon + 1))
        best = self._booster.best_iteration if self._has_best() else None
        out = self._booster.inplace_predict(rows, iteration_range=(0, best + 1) if best is not None else (0, 0))
        q = np.asarray(out).reshape(len(windows), horizon, len(QUANTILES))
        return windows.loc[:, None, None] + windows.scale * np.sort(q, axis=-1)

    def _has_best(self) -> bool:
        try:
            return self._booster is not None and self._booster.best_iteration is not None
        except AttributeError:
            return False

    def save(self, directory: Path) -> dict[str, object]:
        """Write the booster as JSON; the config carries the training hyper-parameters."""
        if self._booster is None:
            raise NotFittedError("cannot save an unfitted XGBoost model")
        raw = self._booster.save_raw(raw_format="json")
        (directory / "xgboost.json.gz").write_bytes(gzip.compress(bytes(raw), mtime=0))
        best = self._booster.best_iteration if self._has_best() else None
        return {"n_estimators": self.n_estimators, "best_iteration": best, "seed": self.seed}

    @classmethod
    def load(cls, directory: Path, config: dict[str, object]) -> XGBoostQuantileModel:
        """Read a booster written by `save`."""
        model = cls(n_estimators=int(config["n_estimators"]), seed=int(config["seed"]))  # type: ignore[call-overload]
        booster = xgb.Booster()
        try:
            booster.load_model(bytearray(gzip.decompress((directory / "xgboost.json.gz").read_bytes())))
        except (OSError, EOFError, xgb.core.XGBoostError) as exc:
            raise ModelArtifactError(f"cannot read XGBoost model: {exc}") from exc
        booster.set_param({"nthread": 1})
        if config.get("best_iteration") is not None:
            booster.set_attr(best_iteration=str(config["best_iteration"]))
        model._booster = booster
        return model
