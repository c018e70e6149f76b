"""Score model, genotype-blind baseline and the simulator's oracle on held-out simulated patients.

Held-out means a fresh cohort (seed + `EVALUATION_SEED_OFFSET`), never the training episodes. Brier skill is
1 - Brier(model) / Brier(baseline), with a paired bootstrap interval over patients because the genotype signal
is small beside the outcome noise. The goals are the issue's: AUC >= 0.95 x oracle AUC, ECE <= 0.05,
Brier skill > 0, planted fold-changes recovered within ±15%.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from twin_engine.pharmacogenomics.response import metrics
from twin_engine.pharmacogenomics.response.foldchange import FoldChangeRecovery, recover_fold_changes
from twin_engine.pharmacogenomics.response.training import ResponseBundle
from twin_engine.simulate.pgx_cohort import OUTCOMES, PgxCohortConfig, simulate_pgx_cohort

EVALUATION_SEED_OFFSET = 1000
AUC_RATIO_GOAL = 0.95
ECE_GOAL = 0.05
BOOTSTRAP_RESAMPLES = 200


@dataclass(frozen=True)
class OutcomeScores:
    """One outcome's scores on the held-out cohort (model = calibrated genotype-aware model)."""

    outcome: str
    prevalence: float
    auc_model: float
    auc_baseline: float
    auc_oracle: float
    brier_model: float
    brier_baseline: float
    brier_oracle: float
    brier_skill: float
    brier_skill_ci: tuple[float, float]
    ece_model: float
    ece_model_uncalibrated: float
    ece_baseline: float
    ece_oracle: float

    @property
    def auc_ratio(self) -> float:
        return self.auc_model / self.auc_oracle


@dataclass(frozen=True)
class EvaluationReport:
    patients: int
    seed: int
    cohort_seed: int
    outcomes: tuple[OutcomeScores, ...]
    fold_changes: tuple[FoldChangeRecovery, ...]
    curves: dict[str, dict[str, metrics.ReliabilityCurve]]  # outcome -> model/baseline/oracle -> curve

    @property
    def goals(self) -> dict[str, bool]:
        return {
            "auc_at_least_0.95_oracle": all(o.auc_ratio >= AUC_RATIO_GOAL for o in self.outcomes),
            "ece_at_most_0.05": all(o.ece_model <= ECE_GOAL for o in self.outcomes),
            "brier_skill_positive": all(o.brier_skill > 0 for o in self.outcomes),
            "fold_changes_within_15pct": all(f.within_tolerance for f in self.fold_changes),
        }

    def to_dict(self) -> dict[str, object]:
        return {
            "patients": self.patients,
            "seed": self.seed,
            "cohort_seed": self.cohort_seed,
            "ece_bins": metrics.ECE_BINS,
            "outcomes": [{**asdict(o), "auc_ratio": o.auc_ratio} for o in self.outcomes],
            "fold_changes": [{**asdict(f), "within_tolerance": f.within_tolerance} for f in self.fold_changes],
            "goals": self.goals,
        }


def _skill_ci(y: np.ndarray, p: np.ndarray, q: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    err_p, err_q = (p - y) ** 2, (q - y) ** 2
    skills = []
    for _ in range(BOOTSTRAP_RESAMPLES // 20):  # chunks keep memory at 20 x n indices
        draws = rng.integers(0, y.size, size=(20, y.size))
        skills.append(1.0 - err_p[draws].mean(axis=1) / err_q[draws].mean(axis=1))
    lo, hi = np.quantile(np.concatenate(skills), [0.025, 0.975])
    return float(lo), float(hi)


def evaluate(bundle: ResponseBundle, patients: int, seed: int) -> EvaluationReport:
    """Simulate `patients` held-out episodes and score every outcome and the fold-change recovery."""
    cohort_seed = seed + EVALUATION_SEED_OFFSET
    cohort = simulate_pgx_cohort(PgxCohortConfig(n_patients=patients, seed=cohort_seed))
    ep = cohort.episodes
    model, raw, base = bundle.model.predict(ep), bundle.model.predict_raw(ep), bundle.baseline.predict(ep)
    rng = np.random.default_rng(seed)
    scores, curves = [], {}
    for name in OUTCOMES:
        y, oracle = ep[name].to_numpy(float), cohort.truth[name].to_numpy(float)
        p, b = model[name], base[name]
        curves[name] = {
            "model": metrics.reliability(y, p),
            "baseline": metrics.reliability(y, b),
            "oracle": metrics.reliability(y, oracle),
        }
        scores.append(
            OutcomeScores(
                outcome=name,
                prevalence=float(y.mean()),
                auc_model=metrics.auc(y, p),
                auc_baseline=metrics.auc(y, b),
                auc_oracle=metrics.auc(y, oracle),
                brier_model=metrics.brier(y, p),
                brier_baseline=metrics.brier(y, b),
                brier_oracle=metrics.brier(y, oracle),
                brier_skill=1.0 - metrics.brier(y, p) / metrics.brier(y, b),
                brier_skill_ci=_skill_ci(y, p, b, rng),
                ece_model=curves[name]["model"].ece,
                ece_model_uncalibrated=metrics.ece(y, raw[name]),
                ece_baseline=curves[name]["baseline"].ece,
                ece_oracle=curves[name]["oracle"].ece,
            )
        )
    return EvaluationReport(patients, seed, cohort_seed, tuple(scores), recover_fold_changes(cohort), curves)


def manifest_metrics(report: EvaluationReport) -> dict[str, object]:
    """The headline scores stored in the registry manifest beside the weights."""
    per_outcome = {
        o.outcome: {
            "auc": round(o.auc_model, 4),
            "auc_baseline": round(o.auc_baseline, 4),
            "auc_oracle": round(o.auc_oracle, 4),
            "brier": round(o.brier_model, 5),
            "brier_skill_vs_genotype_blind": round(o.brier_skill, 5),
            "ece": round(o.ece_model, 4),
        }
        for o in report.outcomes
    }
    worst = max((abs(f.relative_error) for f in report.fold_changes), default=float("nan"))
    return {
        "held_out_patients": report.patients,
        "held_out_cohort_seed": report.cohort_seed,
        "ece_bins": metrics.ECE_BINS,
        "outcomes": per_outcome,
        "fold_change_max_relative_error": round(worst, 4),
        "goals": report.goals,
    }
