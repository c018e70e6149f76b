"""Score the correlation analysis against the coupling simulator's answer key.

Three questions, matching the issue's goals: per patient, are planted links found (with the right lag)
while null links stay quiet; pooled across patients, are small population effects found without bias;
and how does power grow with days of data and effect size, so the app can say "not enough data yet".
Every tested link is either planted (its cause, effect and lag are in the answer key), implied by an
hourly coupling (excluded from both counts), or null.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from twin_engine import frames
from twin_engine.correlations.analysis import CorrelationConfig, PatientCorrelations, analyse_patient
from twin_engine.correlations.lagged import AnalysisSettings, LinkSpec
from twin_engine.correlations.pooled import pool
from twin_engine.correlations.population_prior import cross_fitted
from twin_engine.simulate.couplings import Coupling, CouplingCohort, CouplingConfig, simulate_couplings

# Per-patient evaluation: sizes spread over [0.1, 0.5] so one cohort gives recall per size bin.
SPREAD_COUPLINGS: tuple[Coupling, ...] = (
    Coupling(frames.SLEEP_HOURS, frames.MOOD, 1, 0.1, 0.5),
    Coupling(frames.ACTIVE_MINUTES, frames.MOOD, 1, 0.1, 0.5),
    Coupling(frames.HRV_MS, frames.ANXIETY, 1, -0.5, -0.1),
    Coupling(frames.ANXIETY, frames.RESTING_HR, 1, 0.1, 0.5),
)
# Pooled evaluation: small population effects (the published range), patients differing by ±0.03.
POOLED_COUPLINGS: tuple[Coupling, ...] = (
    Coupling(frames.SLEEP_HOURS, frames.MOOD, 1, 0.02, 0.08),
    Coupling(frames.ACTIVE_MINUTES, frames.MOOD, 1, 0.05, 0.11),
    Coupling(frames.HRV_MS, frames.ANXIETY, 1, -0.09, -0.03),
    Coupling(frames.ANXIETY, frames.RESTING_HR, 1, 0.07, 0.13),
)
# A mixed population: each planted link carried by half the patients, so a population prior also points
# at links some patients lack (the cost side of borrowing strength).
MIXED_COUPLINGS: tuple[Coupling, ...] = tuple(replace(c, prevalence=0.5) for c in SPREAD_COUPLINGS)
SIZE_BINS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5)
WITHIN_PATIENT = "within-patient"
POPULATION_PRIOR = "population prior"


@dataclass(frozen=True)
class PatientScores:
    """Per-patient detection against the truth, aggregated over a cohort.

    `method` is WITHIN_PATIENT (plain BH over the patient's links) or POPULATION_PRIOR (weighted BH with a
    prior pooled from the other half of the cohort).
    """

    method: str
    days: int
    patients: int
    planted_links: int
    recall_at_03: float  # planted links with |size| >= 0.3 found with the right sign
    recall_by_size: dict[str, float]
    exact_lag: float  # true positives whose best lag is the planted lag
    null_links: int
    false_positive_rate: float  # per null link
    absent_link_fpr: float  # per null link that other patients carry (NaN when every patient carries all)
    empirical_fdr: float  # mean over patients of false discoveries / discoveries (0 when none): what BH bounds
    discoveries_false: float  # false discoveries / all discoveries, pooled over the cohort
    seconds_per_patient: float


@dataclass(frozen=True)
class PooledScores:
    patients: int
    days: int
    replicates: int
    tested_links: int
    power: float  # planted links found with the right sign, over replicates
    power_at_005: float  # the same for planted population effects >= 0.05
    power_by_effect: dict[str, float]  # "cause->effect (mean size)" -> power
    empirical_fdr: float
    false_positive_rate: float
    bias: float  # mean (estimated - planted population r) over planted links and replicates
    mean_abs_error: float


@dataclass(frozen=True)
class CorrelationReport:
    per_patient: tuple[PatientScores, ...]
    mixed: tuple[PatientScores, ...]
    pooled: PooledScores | None
    hourly: PatientScores | None
    cost_seconds_hourly_patient: float | None
    settings: dict[str, object] = field(default_factory=dict)


def classify(spec: LinkSpec, subject_truth: pd.DataFrame, implied: frozenset[tuple[str, str]]) -> tuple[str, float]:
    """('planted', size), ('implied', nan), ('absent', 0.0) or ('null', 0.0) for one tested link of one
    patient; 'absent' is a null link in this patient that other patients carry (size 0 in its answer key)."""
    if (spec.cause, spec.effect) in implied:
        return "implied", float("nan")
    hourly = spec.resolution == "hour"
    for row in subject_truth.itertuples(index=False):
        same_link = row.cause == spec.cause and row.effect == spec.effect and bool(row.hourly) == hourly
        if same_link and row.lag in spec.lags:
            return ("planted", float(row.size)) if row.size != 0 else ("absent", 0.0)
    return "null", 0.0


def score_patients(
    cohort: CouplingCohort,
    analyses: dict[str, PatientCorrelations],
    resolution: str,
    seconds: float,
    method: str = WITHIN_PATIENT,
) -> PatientScores:
    truth_by_subject = {s: t for s, t in cohort.truth.groupby(frames.SUBJECT_ID)}
    planted: list[tuple[float, bool, bool]] = []  # size, found, exact lag
    null_flags: list[bool] = []
    absent_flags: list[bool] = []
    fdp: list[float] = []
    for subject, analysis in analyses.items():
        before_true, before_false = sum(p[1] for p in planted), sum(null_flags)
        truth = truth_by_subject.get(subject, cohort.truth.iloc[0:0])
        for link in analysis.links:
            if link.spec.resolution != resolution:
                continue
            kind, size = classify(link.spec, truth, cohort.implied)
            if kind == "planted":
                lag = int(truth[(truth.cause == link.spec.cause) & (truth.effect == link.spec.effect)].lag.iloc[0])
                found = link.significant and np.sign(link.r) == np.sign(size)
                planted.append((size, bool(found), bool(found and link.best_lag == lag)))
            elif kind in ("null", "absent"):
                null_flags.append(link.significant)
                if kind == "absent":
                    absent_flags.append(link.significant)
        false = sum(null_flags) - before_false
        found_here = sum(p[1] for p in planted) - before_true + false
        fdp.append(false / found_here if found_here else 0.0)
    sizes = np.array([abs(p[0]) for p in planted])
    found = np.array([p[1] for p in planted], dtype=bool)
    exact = np.array([p[2] for p in planted], dtype=bool)
    nulls = np.array(null_flags, dtype=bool)
    discoveries = found.sum() + nulls.sum()
    by_size = {}
    for lo, hi in itertools.pairwise(SIZE_BINS):
        inside = (sizes >= lo) & (sizes < hi + (1e-9 if hi == SIZE_BINS[-1] else 0))
        by_size[f"{lo:.1f}-{hi:.1f}"] = float(found[inside].mean()) if inside.any() else float("nan")
    strong = sizes >= 0.3
    return PatientScores(
        method=method,
        days=cohort.config.days,
        patients=len(analyses),
        planted_links=len(planted),
        recall_at_03=float(found[strong].mean()) if strong.any() else float("nan"),
        recall_by_size=by_size,
        exact_lag=float(exact[found].mean()) if found.any() else float("nan"),
        null_links=len(nulls),
        false_positive_rate=float(nulls.mean()) if len(nulls) else float("nan"),
        absent_link_fpr=float(np.mean(absent_flags)) if absent_flags else float("nan"),
        empirical_fdr=float(np.mean(fdp)) if fdp else 0.0,
        discoveries_false=float(nulls.sum() / discoveries) if discoveries else 0.0,
        seconds_per_patient=seconds / max(len(analyses), 1),
    )


def analyse_cohort(
    cohort: CouplingCohort, config: CorrelationConfig, label: str = "", progress: bool = False
) -> tuple[dict[str, PatientCorrelations], float]:
    """Analyse each patient; returns the analyses and the wall time spent."""
    started = time.perf_counter()
    out = {}
    groups = cohort.observations.groupby(frames.SUBJECT_ID, sort=True)
    bar = tqdm(
        groups, total=groups.ngroups, desc=label or "patients", unit="patient", disable=not progress, leave=False
    )
    for k, (subject, rows) in enumerate(bar):
        settings = replace(config.settings, seed=config.settings.seed + k)
        out[str(subject)] = analyse_patient(rows, replace(config, settings=settings))
    return out, time.perf_counter() - started


def evaluate_per_patient(
    days: Iterable[int],
    patients: int,
    seed: int,
    config: CorrelationConfig,
    progress: bool = False,
    couplings: tuple[Coupling, ...] = SPREAD_COUPLINGS,
) -> tuple[PatientScores, ...]:
    """Within-patient and population-prior scores for each record length (the prior is cross-fitted)."""
    out = []
    for d in days:
        cohort = simulate_couplings(CouplingConfig(n_patients=patients, days=d, seed=seed, couplings=couplings))
        analyses, seconds = analyse_cohort(cohort, config, f"{d} days", progress)
        out.append(score_patients(cohort, analyses, "day", seconds))
        out.append(score_patients(cohort, cross_fitted(analyses), "day", seconds, POPULATION_PRIOR))
    return tuple(out)


def evaluate_hourly(
    days: int, patients: int, seed: int, config: CorrelationConfig, progress: bool = False
) -> tuple[PatientScores, float]:
    """Hourly HRV -> experience-sampled anxiety; also the cost of one full hourly patient analysis."""
    cohort = simulate_couplings(
        CouplingConfig(n_patients=patients, days=days, seed=seed, couplings=SPREAD_COUPLINGS, hourly=True)
    )
    analyses, seconds = analyse_cohort(cohort, config, "hourly", progress)
    return score_patients(cohort, analyses, "hour", seconds), seconds / max(patients, 1)


def evaluate_pooled(
    patients: int, days: int, replicates: int, seed: int, config: CorrelationConfig, progress: bool = False
) -> PooledScores:
    quick = replace(config, settings=replace(config.settings, permutations=0))
    found: list[bool] = []
    found_005: list[bool] = []
    by_effect: dict[str, list[bool]] = {}
    errors: list[float] = []
    null_flags: list[bool] = []
    tested = 0
    for rep in range(replicates):
        cohort = simulate_couplings(
            CouplingConfig(n_patients=patients, days=days, seed=seed + 1000 * rep, couplings=POOLED_COUPLINGS)
        )
        analyses, _ = analyse_cohort(cohort, quick, f"pooled {rep + 1}/{replicates}", progress)
        pooled = pool(analyses, fdr=config.settings.fdr)
        tested = max(tested, len(pooled))
        planted = {(c.cause, c.effect): c for c in POOLED_COUPLINGS}
        for link in pooled:
            coupling = planted.get((link.spec.cause, link.spec.effect))
            if coupling is not None and coupling.lag in link.spec.lags:
                target = float(
                    cohort.truth[(cohort.truth.cause == coupling.cause) & (cohort.truth.effect == coupling.effect)][
                        "size"
                    ].mean()
                )
                hit = link.significant and np.sign(link.r) == np.sign(target)
                found.append(bool(hit))
                mean_size = (coupling.size_low + coupling.size_high) / 2
                by_effect.setdefault(f"{coupling.cause}->{coupling.effect} ({mean_size:+.2f})", []).append(bool(hit))
                if abs((coupling.size_low + coupling.size_high) / 2) >= 0.05:
                    found_005.append(bool(hit))
                errors.append(link.r - target)
            else:
                null_flags.append(link.significant)
    discoveries = sum(found) + sum(null_flags)
    return PooledScores(
        patients=patients,
        days=days,
        replicates=replicates,
        tested_links=tested,
        power=float(np.mean(found)) if found else float("nan"),
        power_at_005=float(np.mean(found_005)) if found_005 else float("nan"),
        power_by_effect={k: float(np.mean(v)) for k, v in by_effect.items()},
        empirical_fdr=float(sum(null_flags) / discoveries) if discoveries else 0.0,
        false_positive_rate=float(np.mean(null_flags)) if null_flags else float("nan"),
        bias=float(np.mean(errors)) if errors else float("nan"),
        mean_abs_error=float(np.mean(np.abs(errors))) if errors else float("nan"),
    )


def evaluate(
    patients: int,
    days: tuple[int, ...],
    seed: int,
    pooled_replicates: int,
    hourly_patients: int,
    config: CorrelationConfig | None = None,
    progress: bool = False,
    mixed_patients: int = 0,
) -> CorrelationReport:
    config = config or CorrelationConfig(settings=AnalysisSettings())
    per_patient = evaluate_per_patient(days, patients, seed, config, progress)
    mixed = (
        evaluate_per_patient((180,), mixed_patients, seed + 13, config, progress, MIXED_COUPLINGS)
        if mixed_patients
        else ()
    )
    pooled = evaluate_pooled(100, 90, pooled_replicates, seed + 7, config, progress) if pooled_replicates else None
    hourly, cost = (None, None)
    if hourly_patients:
        hourly, cost = evaluate_hourly(180, hourly_patients, seed + 11, config, progress)
    return CorrelationReport(
        per_patient=per_patient,
        mixed=mixed,
        pooled=pooled,
        hourly=hourly,
        cost_seconds_hourly_patient=cost,
        settings={
            "permutations": config.settings.permutations,
            "fdr": config.settings.fdr,
            "max_lag_days": config.max_lag_days,
            "max_lag_hours": config.max_lag_hours,
            "seed": seed,
        },
    )
