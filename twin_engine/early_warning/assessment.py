"""Per-patient early-warning assessment: the frozen output a later mapping turns into a FHIR RiskAssessment.

This is research output shown to clinicians beside the mood chart, not an alarm: the rule's sensitivity
and false-alarm rate are those measured on simulated patients (docs/benchmarks.md), not on real ones.
Missing indicators are None, never NaN, so nothing downstream has to guard against NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from twin_engine import frames
from twin_engine.early_warning.errors import EarlyWarningInputError
from twin_engine.early_warning.rule import CalibratedRule, warning_scores
from twin_engine.early_warning.series import daily_series


@dataclass(frozen=True)
class EarlyWarningAssessment:
    """Critical-slowing-down indicators of one patient's window ending on `assessed_on` (a UTC day)."""

    subject_id: str
    metric: str
    assessed_on: pd.Timestamp
    window_days: int
    days_with_reports: int
    autocorrelation: float | None
    variance: float | None
    log_variance_rise: float | None
    tau_autocorrelation: float | None
    tau_variance: float | None
    score: float | None
    threshold: float
    rule: str
    nominal_false_alarm_rate: float
    alarm: bool
    alarm_since: pd.Timestamp | None


def assess(frame: pd.DataFrame, rule: CalibratedRule, metric: str = frames.MOOD) -> tuple[EarlyWarningAssessment, ...]:
    """Assess every subject with reports of `metric` on the last day of the frame's record."""
    frame = frames.validate_observations(frame)
    daily = daily_series(frame, metric)
    cfg = rule.config
    if daily.days < (cfg.trend_window or cfg.window):
        raise EarlyWarningInputError(f"need at least {cfg.trend_window or cfg.window} days of {metric!r} reports")
    scores = warning_scores(daily.mean, cfg)
    score = rule.score(scores)
    alarms = rule.alarms(scores)
    last = daily.days - 1
    out = []
    for i, subject in enumerate(daily.subject_ids):
        since = _run_start(alarms[i])
        out.append(
            EarlyWarningAssessment(
                subject_id=subject,
                metric=metric,
                assessed_on=daily.start + pd.Timedelta(days=last),
                window_days=cfg.memory_days,
                days_with_reports=int((daily.count[i, max(last - cfg.memory_days + 1, 0) :] > 0).sum()),
                autocorrelation=_finite(scores.autocorrelation[i, last]),
                variance=_finite(scores.variance[i, last]),
                log_variance_rise=_finite(scores.log_variance_rise[i, last]),
                tau_autocorrelation=_finite(scores.tau_autocorrelation[i, last]),
                tau_variance=_finite(scores.tau_variance[i, last]),
                score=_finite(score[i, last]),
                threshold=rule.threshold,
                rule=cfg.rule,
                nominal_false_alarm_rate=cfg.false_alarm_rate,
                alarm=bool(alarms[i, last]),
                alarm_since=None if since is None else daily.start + pd.Timedelta(days=since),
            )
        )
    return tuple(out)


def _run_start(alarms: np.ndarray) -> int | None:
    """First day of the run of alarm days that reaches the last day (None if the last day has no alarm)."""
    if not alarms[-1]:
        return None
    quiet = np.flatnonzero(~alarms)
    return int(quiet[-1] + 1) if quiet.size else 0


def _finite(x: float) -> float | None:
    value = float(x)
    return value if math.isfinite(value) else None
