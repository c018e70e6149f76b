"""Turn a patient's correlation analysis into sentences a clinician can use.

The design documents' three rules (HRV drops preceding anxiety, short sleep preceding low mood, activity
preceding better mood) are cases of one pattern: a significant link, phrased with its direction, lag and
strength. Suggested actions are considerations for the clinician, never instructions, and an association
is never called a cause. When a pattern the clinician would ask about cannot be judged yet, the insight says
so and estimates how much more data would be needed, instead of staying silent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin_engine import frames
from twin_engine.correlations.analysis import PatientCorrelations
from twin_engine.correlations.lagged import (
    BIOMETRIC_TO_SYMPTOM,
    INSUFFICIENT,
    LOW,
    SAME_TIME,
    Z_POWER_80,
    LinkResult,
)

LINK = "biometric-symptom-link"
INSUFFICIENT_DATA = "insufficient-data"

_NAMES = {
    frames.SLEEP_HOURS: "sleep duration",
    frames.HRV_MS: "heart-rate variability",
    frames.HOURLY_HRV_MS: "heart-rate variability",
    frames.RESTING_HR: "resting heart rate",
    frames.HOURLY_HR: "heart rate",
    frames.STEPS: "step count",
    frames.ACTIVE_MINUTES: "active minutes",
    frames.MOOD: "mood",
    frames.ANXIETY: "anxiety",
    frames.PHQ9: "PHQ-9 depression score",
    frames.GAD7: "GAD-7 anxiety score",
}
# Symptom measures where a higher value means feeling better (mood ratings); the rest rise with distress.
_HIGHER_IS_BETTER = {frames.MOOD}
_ACTIVITY = {frames.STEPS, frames.ACTIVE_MINUTES}
_HRV = {frames.HRV_MS, frames.HOURLY_HRV_MS}
_ANXIETY = {frames.ANXIETY, frames.GAD7}
_MOOD = {frames.MOOD, frames.PHQ9}
# The questions the design documents ask of every patient: (biometric set, symptom set).
EXPECTED: tuple[tuple[str, frozenset[str], frozenset[str]], ...] = (
    ("heart-rate variability and anxiety", frozenset(_HRV), frozenset(_ANXIETY)),
    ("sleep and mood", frozenset({frames.SLEEP_HOURS}), frozenset(_MOOD)),
    ("physical activity and mood", frozenset(_ACTIVITY), frozenset(_MOOD)),
)


def measure_name(metric: str, start: bool = False) -> str:
    """How a clinician would name a frame metric ("sleep duration"); the metric itself if it has no name.

    `start`: for the start of a sentence, first letter upper-cased only (`str.capitalize` would lower the
    rest and write "Phq-9").
    """
    name = _NAMES.get(metric, metric)
    return name[:1].upper() + name[1:] if start else name


@dataclass(frozen=True)
class Insight:
    kind: str
    title: str
    text: str
    consideration: str
    reliability: str
    link: LinkResult | None = None


def clinical_insights(analysis: PatientCorrelations) -> tuple[Insight, ...]:
    """Significant links first (strongest first), then "not enough data yet" for unanswered questions."""
    found = sorted(
        (link for link in analysis.significant() if link.reliability != INSUFFICIENT),
        key=lambda link: -abs(link.r),
    )
    out = [_describe(link) for link in found]
    for question, biometrics, symptoms in EXPECTED:
        candidates = [
            link
            for link in analysis.links
            if link.spec.biometric in biometrics
            and link.spec.symptom in symptoms
            and link.spec.direction == BIOMETRIC_TO_SYMPTOM
        ]
        if any(link.significant for link in candidates) or not candidates:
            continue
        best = max(candidates, key=lambda link: max(link.pairs))
        if best.reliability in (INSUFFICIENT, LOW):
            out.append(_not_enough(question, best))
    return tuple(out)


def _describe(link: LinkResult) -> Insight:
    spec = link.spec
    cause, effect = measure_name(spec.cause), measure_name(spec.effect)
    positive = link.r > 0
    when = _lag_phrase(link.best_lag, spec.resolution, spec.direction == SAME_TIME)
    stats = f"r = {link.r:.2f}, 95% CI {link.ci_low:.2f} to {link.ci_high:.2f}, q = {link.q_value:.3f}"
    if spec.direction == SAME_TIME:
        text = f"Higher {cause} went together with {'higher' if positive else 'lower'} {effect} {when}"
    else:
        text = f"{'Higher' if positive else 'Lower'} {cause} preceded higher {effect} {when}"
    text += f" ({_strength(link.r)}; {stats})."
    if link.prior_weight > 1.0:
        # Weighted FDR asks less evidence of a link other patients show: the clinician should know.
        text += " Other patients commonly show this link too, and that was taken into account in judging it."
    return Insight(
        kind=LINK,
        title=f"{measure_name(spec.cause, start=True)} and {effect}",
        text=text + " This is an association in this patient's data, not proof of cause.",
        consideration=_consideration(link),
        reliability=link.reliability,
        link=link,
    )


def _consideration(link: LinkResult) -> str:
    spec = link.spec
    better = (link.r > 0) == (spec.effect in _HIGHER_IS_BETTER)
    if spec.direction == BIOMETRIC_TO_SYMPTOM:
        if spec.cause in _HRV and spec.effect in _ANXIETY and link.r < 0:
            return (
                "Consider exploring what happens on days of low heart-rate variability (stress, poor recovery); "
                "arousal-regulation strategies such as paced breathing may be worth discussing."
            )
        if spec.cause == frames.SLEEP_HOURS and spec.effect in _MOOD and better:
            return (
                "Consider reviewing sleep with the patient; improving sleep regularity and duration may support mood."
            )
        if spec.cause in _ACTIVITY and spec.effect in _MOOD and better:
            return "Consider discussing behavioural activation or achievable activity goals."
    return "Consider discussing this pattern with the patient and watching whether it persists."


def _not_enough(question: str, link: LinkResult) -> Insight:
    have = max(link.pairs)
    # Pairs needed to detect r = 0.3 with 80% power at this analysis' threshold (from its own grade).
    threshold = np.arctanh(link.min_detectable_r) * np.sqrt(max(have - 3, 1)) - Z_POWER_80
    needed = int(np.ceil(((threshold + Z_POWER_80) / np.arctanh(0.3)) ** 2 + 3))
    unit = "days" if link.spec.resolution == "day" else "hours"
    more = max(needed - have, 0)
    return Insight(
        kind=INSUFFICIENT_DATA,
        title=f"Not enough data yet: {question}",
        text=(
            f"There is not enough paired data yet to tell whether {question} are linked for this patient "
            f"({have} paired {unit}; about {needed} are needed to detect a moderate effect, r = 0.3)."
        ),
        consideration=f"Keep collecting: roughly {more} more paired {unit} of both measures.",
        reliability=link.reliability,
        link=link,
    )


def _lag_phrase(lag: int, resolution: str, same_time: bool) -> str:
    if same_time:
        return "on the same day" if resolution == "day" else "in the same hour"
    if resolution == "day":
        return "the next day" if lag == 1 else f"{lag} days later"
    return "an hour later" if lag == 1 else f"{lag} hours later"


def _strength(r: float) -> str:
    size = abs(r)
    if size < 0.1:
        return "very weak"
    if size < 0.3:
        return "weak"
    if size < 0.5:
        return "moderate"
    return "strong"
