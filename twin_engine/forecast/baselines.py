"""Baselines reported beside every model: naive (last value), seasonal naive (weekly), patient mean.

Their point forecasts need no training; `fit` only learns per-horizon empirical residual quantiles on the
training windows so the baselines have honest raw intervals before conformal calibration.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from twin_engine.errors import ModelArtifactError, NotFittedError
from twin_engine.forecast.base import MAX_HORIZON, QUANTILES
from twin_engine.forecast.features import last_observed
from twin_engine.forecast.windows import WindowSet

SEASON = 7


def naive_point(w: WindowSet, horizon: int) -> np.ndarray:
    """Last observed value, repeated."""
    last, _ = last_observed(w.history[:, :, 0])
    return np.repeat(last[:, None], horizon, axis=1)


def seasonal_naive_point(w: WindowSet, horizon: int) -> np.ndarray:
    """Value on the same weekday in the latest week that has one (up to 8 weeks back); else last value."""
    y = w.history[:, :, 0]
    days = y.shape[1]
    out = naive_point(w, horizon)
    for h in range(1, horizon + 1):
        filled = np.full(len(w), np.nan, dtype=np.float32)
        for k in range(-(-h // SEASON), -(-h // SEASON) + 8):
            idx = days - 1 + h - SEASON * k
            if idx < 0:
                break
            filled = np.where(np.isnan(filled), y[:, idx], filled)
        out[:, h - 1] = np.where(np.isnan(filled), out[:, h - 1], filled)
    return out


def mean_point(w: WindowSet, horizon: int) -> np.ndarray:
    """The patient's mean over the history window."""
    return np.repeat(w.loc[:, None], horizon, axis=1)


_POINTS = {"naive": naive_point, "seasonal_naive": seasonal_naive_point, "patient_mean": mean_point}


class BaselineModel:
    """A point baseline plus per-horizon residual quantiles (in units of the metric's scale)."""

    def __init__(self, name: str) -> None:
        if name not in _POINTS:
            raise ValueError(f"unknown baseline {name!r}")
        self.name = name
        self._offsets: np.ndarray | None = None  # (MAX_HORIZON, len(QUANTILES))

    def point(self, w: WindowSet, horizon: int) -> np.ndarray:
        """Point forecast (m, horizon)."""
        return _POINTS[self.name](w, horizon)

    def fit(self, train: WindowSet, valid: WindowSet) -> None:
        """Learn residual quantiles per horizon from the training windows' observed futures."""
        del valid
        resid = (train.targets[:, :MAX_HORIZON] - self.point(train, MAX_HORIZON)) / train.scale
        offsets = np.zeros((MAX_HORIZON, len(QUANTILES)))
        for h in range(MAX_HORIZON):
            r = resid[:, h][np.isfinite(resid[:, h])]
            if r.size:
                offsets[h] = np.quantile(r, QUANTILES)
        self._offsets = offsets

    def predict(self, windows: WindowSet, horizon: int) -> np.ndarray:
        """Raw quantiles (m, horizon, len(QUANTILES))."""
        if self._offsets is None:
            raise NotFittedError(f"baseline {self.name} has no residual quantiles; fit or load it")
        point = self.point(windows, horizon)
        return point[:, :, None] + windows.scale * self._offsets[None, :horizon, :]

    def save(self, directory: Path) -> dict[str, object]:
        """Offsets are tiny: they travel inside the manifest's config."""
        del directory
        if self._offsets is None:
            raise NotFittedError("cannot save an unfitted baseline")
        return {"offsets": self._offsets.tolist()}

    @classmethod
    def load(cls, name: str, config: dict[str, object]) -> BaselineModel:
        """Rebuild from the config written by `save`."""
        model = cls(name)
        try:
            offsets = np.asarray(json.loads(json.dumps(config["offsets"])), dtype=np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelArtifactError(f"baseline {name}: bad offsets in artifact") from exc
        if offsets.shape != (MAX_HORIZON, len(QUANTILES)):
            raise ModelArtifactError(f"baseline {name}: offsets have shape {offsets.shape}")
        model._offsets = offsets
        return model
