"""An early-warning assessment as a FHIR RiskAssessment (twin-concepts `relapse-warning`, DESIGN.md §3).

The rule gives no probability (its score is compared with a threshold calibrated for a false-alarm rate
among simulated patients without a transition), so `prediction` states the outcome watched for and, in
`rationale`, the score, the threshold and what the threshold means; there is no `probabilityDecimal`.
The indicators go in `note` beside the statement that this is research output, not an alarm. No timestamps
are generated: `occurrenceDateTime` is the assessed day of the data.
https://hl7.org/fhir/R4/riskassessment.html
"""

from __future__ import annotations

from typing import Any

from mappings.ids import stable_id
from mappings.twin.codes import twin_concepts
from twin_engine.early_warning.assessment import EarlyWarningAssessment

RELAPSE_WARNING = "relapse-warning"
OUTCOME = "A relapse or other sudden worsening of mood, heralded by critical slowing down"
RESEARCH_ONLY = (
    "Research output to read beside the mood chart, not an alarm: the rule was calibrated and measured on "
    "simulated patients only."
)


def early_warning_id(assessment: EarlyWarningAssessment) -> str:
    return stable_id("twin-early-warning", assessment.subject_id, assessment.metric, assessment.assessed_on.isoformat())


def early_warning_risk_assessment(base: str, assessment: EarlyWarningAssessment, device_id: str) -> dict[str, Any]:
    """One patient's assessment on its day."""
    concept = {"system": twin_concepts(base), "code": RELAPSE_WARNING, "display": "Relapse early warning"}
    return {
        "resourceType": "RiskAssessment",
        "id": early_warning_id(assessment),
        "meta": {"tag": [concept]},
        "status": "preliminary",
        "code": {"coding": [concept], "text": "Early-warning signal (critical slowing down)"},
        "subject": {"reference": f"Patient/{assessment.subject_id}"},
        "occurrenceDateTime": assessment.assessed_on.date().isoformat(),
        "performer": {"reference": f"Device/{device_id}"},
        "method": {
            "text": f"{assessment.rule} rule on lag-1 autocorrelation and variance of daily {assessment.metric} "
            f"over about {assessment.window_days} days"
        },
        "prediction": [{"outcome": {"text": OUTCOME}, "rationale": _rationale(assessment)}],
        "note": [{"text": _indicators(assessment)}, {"text": RESEARCH_ONLY}],
    }


def _rationale(a: EarlyWarningAssessment) -> str:
    calibration = (
        f"the threshold {a.threshold:.2f} was set so that {a.nominal_false_alarm_rate:.0%} of simulated "
        "patients without a transition get a warning during a monitoring stretch"
    )
    if a.score is None:
        return f"Not assessed: too few reports in the last {a.window_days} days ({a.days_with_reports} days with one)."
    if a.alarm:
        since = f" since {a.alarm_since.date().isoformat()}" if a.alarm_since is not None else ""
        return f"Warning{since}: score {a.score:.2f} is above the threshold; {calibration}."
    return f"No warning: score {a.score:.2f} is below the threshold; {calibration}."


def _indicators(a: EarlyWarningAssessment) -> str:
    def show(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    return (
        f"Indicators on {a.assessed_on.date().isoformat()}: lag-1 autocorrelation {show(a.autocorrelation)}, "
        f"variance {show(a.variance)}, rise of log-variance over the patient's earlier values "
        f"{show(a.log_variance_rise)}; {a.days_with_reports} of the last {a.window_days} days had reports."
    )
