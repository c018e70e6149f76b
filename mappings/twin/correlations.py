"""One Observation per biometric–symptom link a patient's correlation analysis found (DESIGN.md §3).

`code` and `meta.tag` are twin-concepts `biometric-symptom-correlation`; each `component` is one of the
twin-concepts correlation components: the two measures (valueCodeableConcept, coded as the patient's own
Observations of them are), the coefficient and its 95% interval (UCUM `1`), the lag in hours, the
permutation p-value and Benjamini–Hochberg q-value, and the number of paired observations. The lag is how
long the symptom follows the biometric, so a link in which the symptom leads is written with a negative
lag. The clinician-facing sentence and consideration go in `note`. Only links that passed the FDR control
become Observations: a link that did not is no finding, and the insights say when data are too few to tell.
No timestamps are generated, so the same analysis gives the same resources and a rerun changes nothing.
https://hl7.org/fhir/R4/observation.html
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mappings.frames import UnmappableMetric
from mappings.ids import stable_id
from mappings.twin.codes import UCUM, twin_concepts, unitless
from twin_engine.correlations.analysis import PatientCorrelations
from twin_engine.correlations.insights import LINK, Insight, clinical_insights, measure_name
from twin_engine.correlations.lagged import SAME_TIME, SYMPTOM_TO_BIOMETRIC, LinkResult
from twin_engine.correlations.timeline import DAY, HOUR

CORRELATION = "biometric-symptom-correlation"
_HOURS_PER_STEP = {DAY: 24, HOUR: 1}
_METHOD = (
    "Lagged cross-correlation of prewhitened series (trend, weekly or daily rhythm and autoregressive "
    "memory removed); permutation test over the lags; Benjamini-Hochberg false-discovery-rate control "
    "across all of the patient's links."
)


@dataclass(frozen=True, slots=True)
class CorrelationContext:
    """What every correlation Observation of one analysis shares.

    `coding` gives the Coding of a frame metric (`FrameMapper.coding`); `period` is the analysed span as
    FHIR dateTimes; `derived_from` lists references to the inputs (or one `List` of them).
    """

    base: str
    patient_id: str
    device_id: str
    coding: Callable[[str], dict[str, str]]
    period: tuple[str, str] | None = None
    derived_from: tuple[str, ...] = ()


def correlation_id(patient_id: str, link: LinkResult) -> str:
    spec = link.spec
    return stable_id("twin-correlation", patient_id, spec.biometric, spec.symptom, spec.direction, spec.resolution)


def correlation_observations(analysis: PatientCorrelations, context: CorrelationContext) -> list[dict[str, Any]]:
    """The Observations of every link that passed the FDR control, strongest first."""
    insights = {i.link.spec: i for i in clinical_insights(analysis) if i.kind == LINK and i.link is not None}
    found = sorted(analysis.significant(), key=lambda link: -abs(link.r))
    return [correlation_observation(link, context, insights.get(link.spec)) for link in found]


def correlation_observation(
    link: LinkResult, context: CorrelationContext, insight: Insight | None = None
) -> dict[str, Any]:
    """One link as an Observation (any link; `correlation_observations` picks the significant ones)."""
    spec = link.spec
    concept = {
        "system": twin_concepts(context.base),
        "code": CORRELATION,
        "display": "Biometric-symptom correlation",
    }
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": correlation_id(context.patient_id, link),
        "meta": {"tag": [concept]},
        "status": "preliminary",
        "code": {
            "coding": [concept],
            "text": f"{measure_name(spec.cause, start=True)} and {measure_name(spec.effect)}: lagged correlation",
        },
        "subject": {"reference": f"Patient/{context.patient_id}"},
        "device": {"reference": f"Device/{context.device_id}"},
        "method": {"text": _METHOD},
        "component": _components(link, context),
    }
    if context.period is not None:
        resource["effectivePeriod"] = {"start": context.period[0], "end": context.period[1]}
    if context.derived_from:
        resource["derivedFrom"] = [{"reference": ref} for ref in context.derived_from]
    notes = [f"Reliability of this analysis: {link.reliability}."]
    if insight is not None:
        notes = [insight.text, insight.consideration, *notes]
    resource["note"] = [{"text": text} for text in notes]
    return resource


def _components(link: LinkResult, context: CorrelationContext) -> list[dict[str, Any]]:
    spec = link.spec
    system = twin_concepts(context.base)

    def code(c: str) -> dict[str, Any]:
        return {"coding": [{"system": system, "code": c}]}

    best = spec.lags.index(link.best_lag)
    out: list[dict[str, Any]] = [
        {"code": code("biometric-measure"), "valueCodeableConcept": _measure(spec.biometric, context)},
        {"code": code("symptom-measure"), "valueCodeableConcept": _measure(spec.symptom, context)},
        {"code": code("correlation-coefficient"), "valueQuantity": unitless(link.r)},
        {
            "code": code("correlation-ci95"),
            "valueRange": {"low": unitless(link.ci_low), "high": unitless(link.ci_high)},
        },
        {
            "code": code("correlation-lag"),
            "valueQuantity": {"value": _lag_hours(link), "unit": "h", "system": UCUM, "code": "h"},
        },
    ]
    for name, value in (("p-value", link.p_value), ("q-value", link.q_value)):
        if math.isfinite(value):  # pooled analyses run without permutations: no p-value to report
            out.append({"code": code(name), "valueQuantity": unitless(value)})
    out.append({"code": code("sample-size"), "valueInteger": int(link.pairs[best])})
    return out


def _lag_hours(link: LinkResult) -> int:
    spec = link.spec
    if spec.direction == SAME_TIME:
        return 0
    hours = link.best_lag * _HOURS_PER_STEP[spec.resolution]
    return -hours if spec.direction == SYMPTOM_TO_BIOMETRIC else hours


def _measure(metric: str, context: CorrelationContext) -> dict[str, Any]:
    try:
        return {"coding": [context.coding(metric)], "text": measure_name(metric)}
    except UnmappableMetric:
        return {"text": measure_name(metric)}
