"""Held-out evaluation on simulated patients: every model, every baseline and the oracle, side by side.

Test patients come from a simulator seed offset by `TEST_SEED_OFFSET`, so they are never the patients the
models were trained on. Truth is the score each patient *would* report on each future day (the simulator
knows it even on days the patient skipped), so every horizon is scored on every window.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from twin_engine import frames
from twin_engine.forecast.autoets import AutoETSModel
from twin_engine.forecast.base import LEVELS, MAX_HORIZON, QUANTILES, interval_indices
from twin_engine.forecast.grid import DailyGrid
from twin_engine.forecast.metrics import score, seasonal_scale
from twin_engine.forecast.pipeline import BASELINES, ENSEMBLE_MEMBERS, TwinForecaster
from twin_engine.forecast.windows import WindowSet, make_windows, sample_origins
from twin_engine.simulate import SimulatedCohort, SimulatorConfig, oracle_quantiles, simulate_cohort

TEST_SEED_OFFSET = 1000
REPORT_HORIZONS: tuple[int, ...] = (1, 7, 14, 28)
HORIZON_BANDS: tuple[tuple[int, int], ...] = ((1, 7), (8, 14), (15, 28))


@dataclass(frozen=True)
class MetricEvaluation:
    """Scores for one forecast metric. `scores[model][h]` with h in "1","7","14","28","all"."""

    metric: str
    n_windows: int
    scores: dict[str, dict[str, dict[str, float]]]
    mase_by_volatility_decile: dict[str, list[float]]
    worst_stratum_coverage_gap: dict[str, dict[str, float]]
    goals: dict[str, float]


@dataclass(frozen=True)
class EvaluationReport:
    """The whole evaluation: settings plus one `MetricEvaluation` per metric."""

    patients: int
    days: int
    seed: int
    metrics: tuple[MetricEvaluation, ...]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready nested dict (what `novamind evaluate forecaster --json` prints)."""
        return {
            "patients": self.patients,
            "days": self.days,
            "seed": self.seed,
            "test_simulator_seed": self.seed + TEST_SEED_OFFSET,
            "metrics": {
                m.metric: {
                    "n_windows": m.n_windows,
                    "scores": m.scores,
                    "mase_by_volatility_decile": m.mase_by_volatility_decile,
                    "worst_stratum_coverage_gap": m.worst_stratum_coverage_gap,
                    "goals": m.goals,
                }
                for m in self.metrics
            },
        }


def test_windows(
    cohort: SimulatedCohort, grid: DailyGrid, scale: float, per_patient: int, seed: int
) -> tuple[WindowSet, np.ndarray, np.ndarray]:
    """Windows at random origins with complete truth; also their simulator patient index and day."""
    rng = np.random.default_rng(seed)
    subject, origin = sample_origins(grid, per_patient, rng, min_history=7)
    sim_index = np.asarray([cohort.subject_ids.index(s) for s in grid.subject_ids])[subject]
    start_day = np.datetime64(cohort.start.tz_convert(None).date(), "D")
    sim_day = (grid.first_day[subject] - start_day).astype(np.int64) + origin
    truth = cohort.potential[grid.target]
    idx = sim_day[:, None] + np.arange(1, MAX_HORIZON + 1)[None, :]
    targets = truth[sim_index[:, None], idx]
    return make_windows(grid, subject, origin, scale, targets=targets), sim_index, sim_day


def model_quantiles(model: TwinForecaster, windows: WindowSet, include_autoets: bool) -> dict[str, np.ndarray]:
    """Calibrated quantiles of every member, the ensemble and (optionally) AutoETS."""
    raw = model.raw(windows, MAX_HORIZON)
    raw["ensemble"] = model.ensemble.combine({k: raw[k] for k in ENSEMBLE_MEMBERS})
    if include_autoets and "autoets" in model.calibrators:
        raw["autoets"] = AutoETSModel().predict(windows, MAX_HORIZON)
    return {name: model.calibrated(name, q, windows) for name, q in raw.items()}


def evaluate_metric(
    model: TwinForecaster, cohort: SimulatedCohort, per_patient: int, seed: int, include_autoets: bool
) -> MetricEvaluation:
    """Score all models on held-out windows of one metric."""
    grid = model.grid(cohort.observations)
    assert model.scale is not None
    windows, sim_index, sim_day = test_windows(cohort, grid, model.scale, per_patient, seed)
    quantiles = model_quantiles(model, windows, include_autoets)
    quantiles["oracle"] = oracle_quantiles(
        cohort, sim_index, sim_day, MAX_HORIZON, model.config.metric, np.asarray(QUANTILES), seed=seed
    )
    y = windows.targets
    mase_scale = seasonal_scale(windows.history[:, :, 0])
    scores: dict[str, dict[str, dict[str, float]]] = {}
    for name, q in quantiles.items():
        per_h = {str(h): score(q[:, h - 1 : h], y[:, h - 1 : h], mase_scale) for h in REPORT_HORIZONS}
        per_h["all"] = score(q, y, mase_scale)
        scores[name] = per_h
    deciles = _deciles(windows)
    by_decile = {
        # A decile can be empty in a small cohort (tied volatilities share an edge): NaN, skipped below.
        name: [score(q[deciles == d], y[deciles == d], mase_scale[deciles == d]).get("mase", np.nan) for d in range(10)]
        for name, q in quantiles.items()
    }
    gaps = {name: _worst_stratum(q, y, windows.grade, deciles) for name, q in quantiles.items()}
    return MetricEvaluation(
        metric=model.config.metric,
        n_windows=len(windows),
        scores=scores,
        mase_by_volatility_decile=by_decile,
        worst_stratum_coverage_gap=gaps,
        goals=_goals(scores, by_decile, gaps),
    )


def _deciles(windows: WindowSet) -> np.ndarray:
    vol = np.nanstd(windows.history[:, :, 0], axis=1)
    edges = np.nanquantile(vol, np.linspace(0.1, 0.9, 9))
    return np.searchsorted(edges, vol, side="right")


def _worst_stratum(q: np.ndarray, y: np.ndarray, grade: np.ndarray, deciles: np.ndarray) -> dict[str, float]:
    """Largest |coverage - nominal| over strata horizon band x history grade x volatility tercile."""
    tercile = np.minimum(deciles * 3 // 10, 2)
    out: dict[str, float] = {}
    for level in LEVELS:
        lo_i, hi_i = interval_indices(level)
        inside = (y >= q[:, :, lo_i]) & (y <= q[:, :, hi_i])
        worst, worst_n = 0.0, 0
        for lo, hi in HORIZON_BANDS:
            for g in np.unique(grade):
                for t in range(3):
                    rows = (grade == g) & (tercile == t)
                    cells = inside[rows, lo - 1 : hi]
                    if cells.size < 200:  # too few to estimate coverage within a point or two
                        continue
                    gap = abs(float(cells.mean()) - level)
                    if gap > worst:
                        worst, worst_n = gap, cells.size
        out[str(round(level * 100))] = round(100 * worst, 2)
        out[f"n_cells_{round(level * 100)}"] = float(worst_n)
    return out


def _goals(
    scores: dict[str, dict[str, dict[str, float]]],
    by_decile: dict[str, list[float]],
    gaps: dict[str, dict[str, float]],
) -> dict[str, float]:
    """The issue's goal quantities for the ensemble (numbers, not pass/fail: the benchmark decides)."""
    base = [b for b in (*BASELINES, "autoets") if b in scores]
    best = min(base, key=lambda b: scores[b]["all"]["mase"])
    ens, orc = scores["ensemble"]["all"], scores["oracle"]["all"]
    bb = scores[best]["all"]
    gap = bb["mase"] - orc["mase"]
    excess = [by_decile["ensemble"][d] / min(by_decile[b][d] for b in base) - 1.0 for d in range(10)]
    worst_decile = float(np.nanmax(excess)) if np.isfinite(excess).any() else float("nan")
    out = {
        "best_baseline_is_" + best: 1.0,
        "mase_gap_closed": (bb["mase"] - ens["mase"]) / gap if gap > 0 else float("nan"),
        "worst_decile_mase_excess": worst_decile,
        "wql_reduction_vs_seasonal_naive": 1.0 - ens["wql"] / scores["seasonal_naive"]["all"]["wql"],
    }
    if "autoets" in scores:
        out["wql_reduction_vs_autoets_conformal"] = 1.0 - ens["wql"] / scores["autoets"]["all"]["wql"]
    for level in LEVELS:
        pct = round(level * 100)
        out[f"coverage_gap_{pct}_pp"] = 100 * (ens[f"coverage_{pct}"] - level)
        out[f"worst_stratum_gap_{pct}_pp"] = gaps["ensemble"][str(pct)]
        out[f"width_ratio_vs_oracle_{pct}"] = ens[f"width_{pct}"] / orc[f"width_{pct}"]
    return out


def evaluate(
    models: dict[str, TwinForecaster],
    patients: int = 200,
    days: int = 240,
    seed: int = 0,
    per_patient: int = 4,
    include_autoets: bool = True,
    hide: tuple[str, ...] = (),
) -> EvaluationReport:
    """Simulate a fresh test cohort and evaluate each metric's forecaster on it.

    `hide` removes those metrics' observations from the test cohort (and skips their own forecasters):
    how the others do for patients who never report them, e.g. questionnaire forecasters without the
    daily mood rating.
    """
    cohort = simulate_cohort(SimulatorConfig(n_patients=patients, days=days, seed=seed + TEST_SEED_OFFSET))
    if hide:
        obs = cohort.observations
        cohort = replace(cohort, observations=obs[~obs[frames.METRIC].isin(hide)].reset_index(drop=True))
    results = tuple(
        evaluate_metric(models[m], cohort, per_patient, seed, include_autoets)
        for m in (frames.MOOD, frames.PHQ9, frames.GAD7)
        if m in models and m not in hide
    )
    return EvaluationReport(patients=patients, days=days, seed=seed, metrics=results)
