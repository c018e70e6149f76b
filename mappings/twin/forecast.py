"""A symptom forecast as FHIR (DESIGN.md §3): one Observation per patient and run, plus threshold RiskAssessments.

The Observation's `code` is the forecast measure, coded as the patient's own Observations of it are;
`effectivePeriod` is the horizon; each twin-concepts forecast component (point forecast, 80% and 95%
interval bounds) is a `valueSampledData` with one value per day (period 86,400,000 ms, origin 0 in the
measure's unit, the measure's range as limits). The reliability grade of the patient's history goes in
`note`. For PHQ-9 and GAD-7 each published severity threshold the twin tracks (`DETERIORATION_THRESHOLDS`)
gets a RiskAssessment whose probability is the highest single-day probability of reaching it — a lower
bound on reaching it on any day, since per-day quantiles do not say how days move together — with the
horizon as `whenPeriod` and the forecast Observation as `basis`. No timestamps are generated: the same
forecast gives the same resources.
https://hl7.org/fhir/R4/datatypes.html#SampledData
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mappings.ids import stable_id
from mappings.twin.codes import UCUM, twin_concepts
from twin_engine import frames as tf
from twin_engine.correlations.insights import measure_name
from twin_engine.forecast.base import Forecast
from twin_engine.forecast.risk import DETERIORATION_THRESHOLDS, ThresholdRisk, threshold_risk

FORECAST = "symptom-forecast"
THRESHOLD_RISK = "forecast-threshold-risk"
DAY_MS = 86_400_000
_GRADES = {
    "A": "A (rich history: 12 or more scores over at least 8 weeks)",
    "B": "B (moderate history: 6 or more scores)",
    "C": "C (short history: intervals are widest)",
}


@dataclass(frozen=True, slots=True)
class ForecastContext:
    """What every resource of one forecast run shares (`coding`: `FrameMapper.coding`)."""

    base: str
    device_id: str
    coding: Callable[[str], dict[str, str]]


def forecast_id(patient_id: str, metric: str, origin: pd.Timestamp, horizon: int) -> str:
    return stable_id("twin-forecast", patient_id, metric, origin.isoformat(), str(horizon))


def forecast_resources(forecast: Forecast, context: ForecastContext) -> list[dict[str, Any]]:
    """Per patient: the forecast Observation, then one RiskAssessment per tracked threshold of its measure."""
    risks = [threshold_risk(forecast, t) for metric, t in DETERIORATION_THRESHOLDS if metric == forecast.metric]
    out: list[dict[str, Any]] = []
    for i in range(len(forecast.subject_ids)):
        observation = forecast_observation(forecast, i, context)
        out.append(observation)
        out.extend(threshold_risk_assessment(risk, i, forecast, observation["id"], context) for risk in risks)
    return out


def forecast_observation(forecast: Forecast, index: int, context: ForecastContext) -> dict[str, Any]:
    """Patient `index`'s forecast as one Observation."""
    patient = forecast.subject_ids[index]
    origin = forecast.origins[index]
    measure = context.coding(forecast.metric)
    system = twin_concepts(context.base)
    components = [("point-forecast", forecast.point[index])]
    for level in (80, 95):
        lower, upper = forecast.interval(level / 100)
        components += [(f"interval-{level}-lower", lower[index]), (f"interval-{level}-upper", upper[index])]
    low, high = tf.TARGET_RANGES[forecast.metric]
    return {
        "resourceType": "Observation",
        "id": forecast_id(patient, forecast.metric, origin, forecast.horizon),
        "meta": {"tag": [{"system": system, "code": FORECAST, "display": "Symptom forecast"}]},
        "status": "preliminary",
        "code": {
            "coding": [measure],
            "text": f"{measure_name(forecast.metric, start=True)} forecast, next {forecast.horizon} days",
        },
        "subject": {"reference": f"Patient/{patient}"},
        "effectivePeriod": _horizon(origin, forecast.horizon),
        "device": {"reference": f"Device/{context.device_id}"},
        "method": {
            "text": "Ensemble of a patch transformer and gradient-boosted trees with conformally calibrated "
            "prediction intervals (twin_engine.forecast)"
        },
        "component": [
            {"code": {"coding": [{"system": system, "code": code}]}, "valueSampledData": _sampled(values, low, high)}
            for code, values in components
        ],
        "note": [{"text": f"Reliability grade of the history: {_GRADES.get(forecast.reliability[index], '?')}."}],
    }


def threshold_risk_assessment(
    risk: ThresholdRisk, index: int, forecast: Forecast, basis_id: str, context: ForecastContext
) -> dict[str, Any]:
    """The chance of reaching `risk.threshold` within the horizon, read off the forecast distribution."""
    patient = forecast.subject_ids[index]
    system = twin_concepts(context.base)
    concept = {"system": system, "code": THRESHOLD_RISK, "display": "Forecast threshold risk"}
    label = f"{measure_name(risk.metric)} of {risk.threshold:g} or more"
    day = int(risk.peak_day[index])
    return {
        "resourceType": "RiskAssessment",
        "id": stable_id("twin-threshold-risk", basis_id, f"{risk.threshold:g}"),
        "meta": {"tag": [concept]},
        "status": "preliminary",
        "code": {"coding": [concept], "text": f"Risk of a {label} within {forecast.horizon} days"},
        "subject": {"reference": f"Patient/{patient}"},
        "performer": {"reference": f"Device/{context.device_id}"},
        "basis": [{"reference": f"Observation/{basis_id}"}],
        "prediction": [
            {
                "outcome": {"text": label},
                "probabilityDecimal": round(float(risk.peak[index]), 4),
                "whenPeriod": _horizon(forecast.origins[index], forecast.horizon),
                "rationale": (
                    f"Highest single-day probability in the forecast (day {day} of {forecast.horizon}); the "
                    "chance of reaching the score on any day of the period is at least this."
                ),
            }
        ],
        "note": [{"text": "Model output on calibrated forecast intervals, not a diagnosis."}],
    }


def _horizon(origin: pd.Timestamp, horizon: int) -> dict[str, str]:
    start = origin + pd.Timedelta(days=1)
    end = origin + pd.Timedelta(days=horizon)
    return {"start": start.date().isoformat(), "end": end.date().isoformat()}


def _sampled(values: np.ndarray, low: float, high: float) -> dict[str, Any]:
    return {
        "origin": {"value": 0, "unit": "{score}", "system": UCUM, "code": "{score}"},
        "period": DAY_MS,
        "lowerLimit": low,
        "upperLimit": high,
        "dimensions": 1,
        "data": " ".join(f"{v:.2f}".rstrip("0").rstrip(".") for v in np.asarray(values, dtype=float)),
    }
