"""How trustworthy the deterioration risks are: Brier score, calibration and discrimination on held-out
simulated patients, beside the base rate and the simulator's oracle (which knows the latent state)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from twin_engine import frames
from twin_engine.forecast.base import MAX_HORIZON, QUANTILES
from twin_engine.forecast.evaluation import model_quantiles, test_windows
from twin_engine.forecast.pipeline import TwinForecaster
from twin_engine.forecast.risk import exceedance_probability
from twin_engine.simulate import SimulatedCohort, oracle_quantiles

REPORT_HORIZONS: tuple[int, ...] = (7, 14, 28)


@dataclass(frozen=True)
class RiskScores:
    metric: str
    threshold: float
    horizon: int
    windows: int
    base_rate: float
    brier: float
    brier_base_rate: float
    brier_oracle: float
    brier_skill: float  # against always predicting the base rate
    ece: float  # 10 equal-width bins, weighted by count
    auc: float
    auc_oracle: float


def evaluate_threshold_risk(
    model: TwinForecaster, cohort: SimulatedCohort, threshold: float, per_patient: int = 4, seed: int = 0
) -> tuple[RiskScores, ...]:
    """Score P(score >= threshold on day h) of the ensemble at each reported horizon."""
    metric = model.config.metric
    grid = model.grid(cohort.observations)
    assert model.scale is not None
    windows, sim_index, sim_day = test_windows(cohort, grid, model.scale, per_patient, seed)
    ensemble = model_quantiles(model, windows, include_autoets=False)["ensemble"]
    oracle = oracle_quantiles(cohort, sim_index, sim_day, MAX_HORIZON, metric, np.asarray(QUANTILES), seed=seed)
    bounds = frames.TARGET_RANGES[metric]
    out = []
    for h in REPORT_HORIZONS:
        event = (windows.targets[:, h - 1] >= threshold).astype(float)
        p = exceedance_probability(ensemble[:, h - 1], QUANTILES, threshold, bounds)
        p_oracle = exceedance_probability(oracle[:, h - 1], QUANTILES, threshold, bounds)
        rate = float(event.mean())
        brier = float(np.mean((p - event) ** 2))
        brier_base = float(np.mean((rate - event) ** 2))
        out.append(
            RiskScores(
                metric=metric,
                threshold=threshold,
                horizon=h,
                windows=len(event),
                base_rate=rate,
                brier=brier,
                brier_base_rate=brier_base,
                brier_oracle=float(np.mean((p_oracle - event) ** 2)),
                brier_skill=1.0 - brier / brier_base if brier_base > 0 else float("nan"),
                ece=expected_calibration_error(p, event),
                auc=auc(p, event),
                auc_oracle=auc(p_oracle, event),
            )
        )
    return tuple(out)


def expected_calibration_error(p: np.ndarray, event: np.ndarray, bins: int = 10) -> float:
    which = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.mean() * abs(p[inside].mean() - event[inside].mean())
    return float(total)


def auc(score: np.ndarray, event: np.ndarray) -> float:
    """Probability that a random event outranks a random non-event (ties count half)."""
    pos, neg = score[event == 1], score[event == 0]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    ranks = stats.rankdata(np.concatenate([pos, neg]))  # average ranks: ties count half
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))
