"""Score the early-warning rules against the transition simulator's ground truth.

Definitions (also in docs/benchmarks.md):

- every patient contributes one *monitoring stretch*: days [ramp start, onset) for a transition patient,
  and for a control the same-length stretch before its *pseudo* onset (drawn from the same distributions,
  so both arms are watched for equally long, at the same point of their records);
- *sensitivity*: fraction of transition patients with at least one alarm inside their stretch;
- *false-alarm rate*: fraction of control patients with at least one alarm inside their stretch (the
  quantity the calibration bounds by α); the *daily* false-alarm rate is the fraction of control stretch
  days with an alarm;
- *lead time*: onset minus the first alarm day inside the stretch, for detected patients; it cannot
  exceed the planted ramp, which is reported beside it.

The threshold is calibrated on the controls of a separate cohort (seed + `CALIBRATION_SEED_OFFSET`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

import numpy as np

from twin_engine.early_warning.rule import (
    RULES,
    CalibratedRule,
    EarlyWarningConfig,
    WarningScores,
    calibrate,
    stretch_maxima,
    warning_scores,
)
from twin_engine.early_warning.series import daily_series
from twin_engine.simulate.transitions import TransitionCohort, TransitionConfig, simulate_transitions

CALIBRATION_SEED_OFFSET = 1_000
ROC_POINTS = 21
_Z95 = 1.959963984540054


@dataclass(frozen=True)
class RocPoint:
    threshold: float
    sensitivity: float
    false_alarm_rate: float


@dataclass(frozen=True)
class RuleResult:
    """Measured performance of one calibrated rule on the evaluation cohort."""

    rule: str
    series: str  # "reports": daily means of the reports; "latent": the noise-free latent mood (a ceiling)
    threshold: float
    nominal_false_alarm_rate: float
    sensitivity: float
    sensitivity_ci95: tuple[float, float]
    false_alarm_rate: float
    false_alarm_rate_ci95: tuple[float, float]
    daily_false_alarm_rate: float
    lead_time_median_days: float
    lead_time_iqr_days: tuple[float, float]
    ramp_days_median: float  # over detected patients: the bound on their lead time
    ramp_days_iqr: tuple[float, float]
    auc: float
    roc: tuple[RocPoint, ...]


@dataclass(frozen=True)
class EarlyWarningReport:
    """Everything `novamind evaluate early-warnings` prints."""

    patients_per_arm: int
    days: int
    seed: int
    calibration_seed: int
    reports_per_day: int
    window: int
    trend_window: int | None
    half_life: float | None
    tau_span: int
    results: tuple[RuleResult, ...]
    shipped_rule: str | None = None  # which stored rule the "shipped" row scored, when one was asked for

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def evaluate_early_warnings(
    patients: int,
    days: int,
    seed: int,
    reports_per_day: int,
    config: EarlyWarningConfig | None = None,
    shipped: tuple[str, CalibratedRule] | None = None,
) -> EarlyWarningReport:
    """Calibrate each rule on a control cohort, then score it on a fresh cohort of both arms.

    `shipped` (a label and a stored rule) adds a row for that rule as it is, not recalibrated, on the same
    evaluation cohort.
    """
    config = config or EarlyWarningConfig()
    calibration = calibration_cohort(patients, days, seed + CALIBRATION_SEED_OFFSET, reports_per_day)
    evaluation = simulate_transitions(
        TransitionConfig(
            n_transition=patients, n_control=patients, days=days, seed=seed, reports_per_day=reports_per_day
        )
    )
    cal_scores = warning_scores(_daily(calibration), config)
    ev_scores = warning_scores(_daily(evaluation), config)
    results = []
    for rule in RULES:
        fitted = calibrate_on(calibration, replace(config, rule=rule), cal_scores)
        results.append(_score(fitted, fitted.score(ev_scores), evaluation, "reports"))
    # The same rule on the noise-free latent mood: how much is lost to reading noise and missing reports,
    # and how much the planted dynamics allow at best.
    latent = calibrate_on(calibration, config, warning_scores(calibration.latent, config))
    results.append(_score(latent, latent.score(warning_scores(evaluation.latent, config)), evaluation, "latent"))
    if shipped is not None:
        stored = shipped[1]
        same = _same_indicators(stored.config, config)
        scores = ev_scores if same else warning_scores(_daily(evaluation), stored.config)
        results.append(_score(stored, stored.score(scores), evaluation, "shipped"))
    return EarlyWarningReport(
        patients_per_arm=patients,
        days=days,
        seed=seed,
        calibration_seed=seed + CALIBRATION_SEED_OFFSET,
        reports_per_day=reports_per_day,
        window=config.window,
        trend_window=config.trend_window,
        half_life=config.half_life,
        tau_span=config.tau_span,
        results=tuple(results),
        shipped_rule=None if shipped is None else shipped[0],
    )


def _same_indicators(a: EarlyWarningConfig, b: EarlyWarningConfig) -> bool:
    """Whether two configurations compute the same indicator arrays (the rule and its threshold may differ)."""
    return (a.window, a.trend_window, a.half_life, a.tau_span) == (b.window, b.trend_window, b.half_life, b.tau_span)


def calibration_cohort(patients: int, days: int, seed: int, reports_per_day: int) -> TransitionCohort:
    """Transition-free patients only: what a threshold is calibrated on."""
    return simulate_transitions(
        TransitionConfig(n_transition=0, n_control=patients, days=days, seed=seed, reports_per_day=reports_per_day)
    )


def calibrate_on(
    cohort: TransitionCohort, config: EarlyWarningConfig, scores: WarningScores | None = None
) -> CalibratedRule:
    """Calibrate a rule on a cohort's control patients over their (pseudo) monitoring stretches."""
    controls = ~cohort.transitions
    scores = scores if scores is not None else warning_scores(_daily(cohort), config)
    picked = WarningScores(*(np.asarray(getattr(scores, f.name))[controls] for f in fields(WarningScores)))
    return calibrate(picked, cohort.pseudo_ramp_start[controls], cohort.pseudo_onset_day[controls], config)


def score_on(rule: CalibratedRule, cohort: TransitionCohort) -> RuleResult:
    """A fixed (e.g. shipped) rule scored on a cohort's reports, without recalibrating it."""
    return _score(rule, rule.score(warning_scores(_daily(cohort), rule.config)), cohort, "reports")


def _score(rule: CalibratedRule, score: np.ndarray, cohort: TransitionCohort, series: str) -> RuleResult:
    start, end = cohort.pseudo_ramp_start, cohort.pseudo_onset_day
    positive = cohort.transitions
    peaks = stretch_maxima(score, start, end)
    alarms = np.where(np.isfinite(score), score, -np.inf) > rule.threshold
    days = np.arange(score.shape[1])[None, :]
    inside = (days >= start[:, None]) & (days < end[:, None])
    hit = np.asarray((alarms & inside).any(axis=1))
    first = np.argmax(alarms & inside, axis=1)
    detected = hit & positive
    lead = (end - first)[detected].astype(np.float64)
    ramp = (end - start)[detected].astype(np.float64)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    roc = _roc(peaks, positive)
    return RuleResult(
        rule=rule.config.rule,
        series=series,
        threshold=rule.threshold,
        nominal_false_alarm_rate=rule.config.false_alarm_rate,
        sensitivity=float(hit[positive].mean()),
        sensitivity_ci95=_wilson(int(detected.sum()), n_pos),
        false_alarm_rate=float(hit[~positive].mean()),
        false_alarm_rate_ci95=_wilson(int((hit & ~positive).sum()), n_neg),
        daily_false_alarm_rate=float((alarms & inside)[~positive].sum() / max(inside[~positive].sum(), 1)),
        lead_time_median_days=_quantile(lead, 0.5),
        lead_time_iqr_days=(_quantile(lead, 0.25), _quantile(lead, 0.75)),
        ramp_days_median=_quantile(ramp, 0.5),
        ramp_days_iqr=(_quantile(ramp, 0.25), _quantile(ramp, 0.75)),
        auc=_auc(peaks[positive], peaks[~positive]),
        roc=roc,
    )


def _roc(peaks: np.ndarray, positive: np.ndarray) -> tuple[RocPoint, ...]:
    """Sensitivity vs false-alarm rate at thresholds spread over the controls' per-stretch maxima."""
    null = peaks[~positive]
    finite = null[np.isfinite(null)]
    if finite.size == 0:
        return ()
    cuts = np.quantile(finite, np.linspace(0.0, 1.0, ROC_POINTS))
    return tuple(
        RocPoint(float(c), float((peaks[positive] > c).mean()), float((null > c).mean())) for c in np.unique(cuts)
    )


def _auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(max score of a transition stretch > that of a control stretch), ties counted half."""
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    pos, neg = np.nan_to_num(pos, neginf=-1e300), np.nan_to_num(neg, neginf=-1e300)
    order = np.sort(neg)
    below = np.searchsorted(order, pos, side="left")
    ties = np.searchsorted(order, pos, side="right") - below
    return float((below + 0.5 * ties).sum() / (pos.size * neg.size))


def _wilson(k: int, n: int) -> tuple[float, float]:
    if n == 0:
        return (float("nan"), float("nan"))
    p = k / n
    half = _Z95 * np.sqrt(p * (1 - p) / n + _Z95**2 / (4 * n * n))
    center = p + _Z95**2 / (2 * n)
    denom = 1 + _Z95**2 / n
    return (float((center - half) / denom), float((center + half) / denom))


def _quantile(x: np.ndarray, q: float) -> float:
    return float(np.quantile(x, q)) if x.size else float("nan")


def _daily(cohort: TransitionCohort) -> np.ndarray:
    return daily_series(
        cohort.observations, start=cohort.start, days=cohort.config.days, subject_ids=cohort.subject_ids
    ).mean
