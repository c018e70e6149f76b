"""The early-warning detection rule: a daily score, and a threshold calibrated on transition-free patients.

Two scores are offered, each computed for every patient and day from the indicators:

- ``"contrast"`` (default): standardised lag-1 autocorrelation of the current indicators plus the
  standardised rise of their log-variance over the patient's own earlier values (those whose windows do
  not overlap the current one: more than `memory` days before). The
  autocorrelation is compared with the population because it is scale-free; the variance is compared with
  the patient's own history because its level differs several-fold between patients.
- ``"kendall"``: the mean of Kendall's τ of autocorrelation and of variance over the trailing `tau_span`
  days (the classic trend statistic). On the simulator it is little better than chance (AUC 0.63):
  rolling-window indicators are so smooth that τ near ±1 is common without any transition, so the
  maximum over a stretch is high in controls too.

Why calibrate on a cohort, not per-patient surrogates: what a clinician needs bounded is the chance that a
patient who will *not* tip gets an alarm during a monitoring stretch, and that is exactly the (1 - α)
quantile of the per-stretch maximum score over transition-free patients. Surrogates (AR(1) or phase
randomised per patient) would assume a stationary linear null and cost hundreds of re-computations per
patient per day, while the cohort threshold is one number per (rule, reports a day), fitted on a cohort
simulated with a different seed from the one it is evaluated on. Its guarantee is only as good as the
match between the calibration controls and the patients it is applied to; docs/benchmarks.md states it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from twin_engine.early_warning.errors import EarlyWarningInputError
from twin_engine.early_warning.indicators import exponential_indicators, exponential_memory, rolling_indicators
from twin_engine.early_warning.trend import rolling_kendall_tau

RuleKind = Literal["contrast", "kendall"]
RULES: tuple[RuleKind, ...] = ("contrast", "kendall")


@dataclass(frozen=True)
class EarlyWarningConfig:
    """Window lengths and the nominal false-alarm rate (per monitoring stretch of a transition-free patient)."""

    window: int = 30
    trend_window: int | None = None  # None: only de-mean each window (see indicators.py for why)
    # Exponentially weighted indicators with this half-life (days); None: rolling `window`-day windows,
    # as the early-warning 1.0.0 rules were calibrated.
    half_life: float | None = 12.0
    tau_span: int = 30
    false_alarm_rate: float = 0.10
    rule: RuleKind = "contrast"

    @property
    def memory_days(self) -> int:
        """How many days back one day's indicators reach (see `indicators.Indicators.memory`)."""
        return self.window if self.half_life is None else exponential_memory(self.half_life)


@dataclass(frozen=True)
class WarningScores:
    """Indicator arrays (n_subjects, days) and the rule's score; NaN where a window has too few reports."""

    autocorrelation: np.ndarray
    log_variance_rise: np.ndarray
    tau_autocorrelation: np.ndarray
    tau_variance: np.ndarray
    variance: np.ndarray


@dataclass(frozen=True)
class CalibratedRule:
    """A detection rule with its calibration: standardisation constants and the alarm threshold."""

    config: EarlyWarningConfig
    ac_center: float
    ac_scale: float
    rise_center: float
    rise_scale: float
    threshold: float
    calibration_patients: int

    def score(self, s: WarningScores) -> np.ndarray:
        """The daily score the threshold applies to (NaN where the indicators are undefined)."""
        if self.config.rule == "kendall":
            return (s.tau_autocorrelation + s.tau_variance) / 2.0
        ac = (s.autocorrelation - self.ac_center) / self.ac_scale
        return ac + (s.log_variance_rise - self.rise_center) / self.rise_scale

    def alarms(self, s: WarningScores) -> np.ndarray:
        """Boolean (n_subjects, days): score above threshold (False where the score is NaN)."""
        score = self.score(s)
        return np.where(np.isfinite(score), score, -np.inf) > self.threshold


def warning_scores(daily: np.ndarray, config: EarlyWarningConfig) -> WarningScores:
    """Indicators and their trends for daily means (n_subjects, days; NaN = no report that day)."""
    ind = (
        rolling_indicators(daily, config.window, config.trend_window)
        if config.half_life is None
        else exponential_indicators(daily, config.half_life)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        log_var = np.log(ind.variance)
    log_var = np.where(np.isfinite(log_var), log_var, np.nan)
    return WarningScores(
        autocorrelation=ind.autocorrelation,
        log_variance_rise=log_var - _mean_before(log_var, ind.memory),
        tau_autocorrelation=rolling_kendall_tau(ind.autocorrelation, config.tau_span),
        tau_variance=rolling_kendall_tau(ind.variance, config.tau_span),
        variance=ind.variance,
    )


def calibrate(
    scores: WarningScores, stretch_start: np.ndarray, stretch_end: np.ndarray, config: EarlyWarningConfig
) -> CalibratedRule:
    """Fit the rule on transition-free patients: alarm threshold = (1 - α) quantile of per-stretch maxima."""
    if not 0.0 < config.false_alarm_rate < 1.0:
        raise EarlyWarningInputError(f"false_alarm_rate must lie in (0, 1), got {config.false_alarm_rate}")
    ac_c, ac_s = _center_scale(scores.autocorrelation)
    rise_c, rise_s = _center_scale(scores.log_variance_rise)
    unscaled = CalibratedRule(config, ac_c, ac_s, rise_c, rise_s, np.inf, stretch_start.shape[0])
    peaks = stretch_maxima(unscaled.score(scores), stretch_start, stretch_end)
    peaks = peaks[np.isfinite(peaks)]
    if peaks.size < 10:
        raise EarlyWarningInputError(f"calibration needs at least 10 scorable stretches, got {peaks.size}")
    threshold = float(np.quantile(peaks, 1.0 - config.false_alarm_rate, method="higher"))
    return CalibratedRule(config, ac_c, ac_s, rise_c, rise_s, threshold, int(peaks.size))


def stretch_maxima(score: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Per-row maximum of `score` over days [start, end); -inf where nothing in the stretch is scorable."""
    days = np.arange(score.shape[1])[None, :]
    inside = (days >= start[:, None]) & (days < end[:, None]) & np.isfinite(score)
    return np.where(inside, score, -np.inf).max(axis=1)


def _center_scale(x: np.ndarray) -> tuple[float, float]:
    finite = x[np.isfinite(x)]
    if finite.size < 2:
        raise EarlyWarningInputError("too few scorable windows to calibrate the rule")
    return float(finite.mean()), float(max(finite.std(), 1e-9))


def _mean_before(x: np.ndarray, gap: int) -> np.ndarray:
    """Mean of each row's finite values up to column t - gap (the windows that do not overlap day t's)."""
    seen = np.isfinite(x)
    total = np.cumsum(np.where(seen, x, 0.0), axis=1)
    count = np.cumsum(seen, axis=1)
    out = np.full(x.shape, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[:, gap:] = total[:, :-gap] / count[:, :-gap]
    return out
