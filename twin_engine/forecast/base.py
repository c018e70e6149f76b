"""The forecasting contract: the `Forecast` result and the protocols every model implements.

Models work on `WindowSet`s (arrays cut from the daily grid) and return raw quantiles; the public
`TwinForecaster` turns frames into windows and raw quantiles into a calibrated `Forecast`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from twin_engine import frames

# Quantile levels every model predicts; the 80/90/95% central intervals are read from them.
QUANTILES: tuple[float, ...] = (0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975)
LEVELS: tuple[float, ...] = (0.8, 0.9, 0.95)
MEDIAN_INDEX = QUANTILES.index(0.5)
MAX_HORIZON = 28
GRADES: tuple[str, ...] = ("A", "B", "C")


def interval_indices(level: float) -> tuple[int, int]:
    """Positions in `QUANTILES` of the lower and upper bound of a central interval."""
    lo = round((1.0 - level) / 2.0, 4)
    return QUANTILES.index(lo), QUANTILES.index(round(1.0 - lo, 4))


@dataclass(frozen=True)
class Forecast:
    """Daily forecasts of one metric for a batch of patients.

    Invariants: `quantiles` has shape (n_subjects, horizon, len(quantile_levels)), is finite, sorted along
    the last axis and clipped to the metric's range; day k of the horizon is `origin + k` days.
    `reliability` grades each subject's history (A: rich, B: moderate, C: short, intervals widest).
    """

    metric: str
    subject_ids: tuple[str, ...]
    origins: tuple[pd.Timestamp, ...]
    horizon: int
    quantile_levels: tuple[float, ...]
    quantiles: np.ndarray
    reliability: tuple[str, ...]
    model: str

    @property
    def point(self) -> np.ndarray:
        """The point forecast (the median), shape (n_subjects, horizon)."""
        return self.quantiles[:, :, self.quantile_levels.index(0.5)]

    def interval(self, level: float) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of the central `level` interval (e.g. 0.8 or 0.95)."""
        lo, hi = interval_indices(level)
        return self.quantiles[:, :, lo], self.quantiles[:, :, hi]

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame: one row per subject and day with the point forecast and interval bounds."""
        n, h = self.quantiles.shape[:2]
        data: dict[str, object] = {
            frames.SUBJECT_ID: np.repeat(np.asarray(self.subject_ids, dtype=object), h),
            frames.TS: np.concatenate(
                [origin + pd.to_timedelta(np.arange(1, h + 1), unit="D") for origin in self.origins]
            )
            if n
            else [],
            frames.METRIC: self.metric,
            "point": self.point.reshape(-1),
        }
        for level in LEVELS:
            lo, hi = self.interval(level)
            pct = round(level * 100)
            data[f"lower_{pct}"] = lo.reshape(-1)
            data[f"upper_{pct}"] = hi.reshape(-1)
        return pd.DataFrame(data)


class QuantileModel(Protocol):
    """A member model: fitted on windows, predicts raw quantiles (m, horizon, len(QUANTILES))."""

    name: str

    def fit(self, train: WindowSetLike, valid: WindowSetLike) -> None: ...

    def predict(self, windows: WindowSetLike, horizon: int) -> np.ndarray: ...

    def save(self, directory: Path) -> dict[str, object]:
        """Write weights under `directory`; return the JSON-able config needed to load them."""
        ...


class WindowSetLike(Protocol):
    """Structural type of `windows.WindowSet` (kept here so base has no import cycle)."""

    history: np.ndarray
    targets: np.ndarray
    loc: np.ndarray
    scale: float
