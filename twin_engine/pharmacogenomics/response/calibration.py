"""Platt scaling on the logit of a model's probability, fitted on a held-out calibration split.

Platt (two parameters) rather than isotonic regression: it cannot reorder or tie predictions, so the AUC is
unchanged by calibration and only the probabilities move, and two parameters are stable on the few thousand
calibration episodes a cohort gives. Boosted trees trained on log loss are usually near-calibrated already, so
the correction is expected to be small; its size is reported (raw vs. calibrated ECE).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from twin_engine.errors import NotFittedError

_EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(np.asarray(p, float), _EPS, 1.0 - _EPS)
    return np.log(q / (1.0 - q))


class PlattCalibrator:
    """p -> sigmoid(a * logit(p) + b), (a, b) minimising log loss on the calibration split."""

    def __init__(self, slope: float | None = None, intercept: float | None = None) -> None:
        self.slope = slope
        self.intercept = intercept

    def fit(self, p: np.ndarray, y: np.ndarray) -> PlattCalibrator:
        z = _logit(p)
        t = np.asarray(y, float)

        def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
            s = theta[0] * z + theta[1]
            q = 1.0 / (1.0 + np.exp(-s))
            value = float(np.sum(np.logaddexp(0.0, s) - t * s))
            grad = np.array([np.sum((q - t) * z), np.sum(q - t)])
            return value, grad

        result = minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B")
        self.slope, self.intercept = float(result.x[0]), float(result.x[1])
        return self

    def apply(self, p: np.ndarray) -> np.ndarray:
        if self.slope is None or self.intercept is None:
            raise NotFittedError("PlattCalibrator.apply before fit")
        return 1.0 / (1.0 + np.exp(-(self.slope * _logit(p) + self.intercept)))

    def state(self) -> dict[str, float]:
        if self.slope is None or self.intercept is None:
            raise NotFittedError("cannot save an unfitted PlattCalibrator")
        return {"slope": self.slope, "intercept": self.intercept}

    @classmethod
    def from_state(cls, state: dict[str, float]) -> PlattCalibrator:
        return cls(float(state["slope"]), float(state["intercept"]))
