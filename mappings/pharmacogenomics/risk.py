"""One RiskAssessment per candidate medication: predicted response and side effects, CPIC guidance as mitigation.

`prediction` holds the response model's calibrated probabilities (response, then each side effect), coded with
our twin-concepts insight types and described in text; `mitigation` quotes the matched CPIC recommendation(s)
verbatim with strength and our summarising action; `basis` lists the genotype and phenotype Observations,
Conditions, medication history and the drug's MedicationKnowledge; `note` carries the model's fixed disclaimer.
No timestamps are generated: the same inputs give the same resource, so a rerun leaves it unchanged.
https://hl7.org/fhir/R4/riskassessment.html
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mappings.ids import stable_id
from mappings.pharmacogenomics.codes import IDENTIFIER_PATH, MEDICATION_RESPONSE, SIDE_EFFECT_RISK
from mappings.twin.codes import twin_concepts
from twin_engine.pharmacogenomics import DrugGuidance, GuidanceStatus

if TYPE_CHECKING:  # the response model (xgboost, scipy) loads only when a prediction is made
    from twin_engine.pharmacogenomics.response.comparative import MedicationEstimate

SIDE_EFFECT_TEXT = {
    "gi_upset": "gastrointestinal upset (nausea/diarrhoea)",
    "sedation": "daytime sedation",
    "activation_insomnia": "activation or treatment-emergent insomnia",
}
RESPONSE_TEXT = "response (at least 50% symptom reduction at week 8)"
NOT_FOR_CLINICAL_USE = "Not for clinical use: CPIC guidance is quoted verbatim; the action summary is NovaMind's."


@dataclass(frozen=True, slots=True)
class Candidate:
    """Everything known about one candidate drug for one patient."""

    drug: str
    guidance: DrugGuidance
    estimate: MedicationEstimate | None
    knowledge_id: str


def risk_assessment_id(patient_id: str, drug: str) -> str:
    return stable_id("pgx-risk", patient_id, drug)


def mitigation(guidance: DrugGuidance) -> str:
    """CPIC's recommendation(s) with strength and action, or the explicit absence of one."""
    if guidance.status is not GuidanceStatus.MATCHED:
        return f"CPIC: {guidance.status.value} ({guidance.drug})."
    parts = []
    for rec in guidance.recommendations:
        who = f" [{rec.population}]" if rec.population and rec.population != "general" else ""
        phenotypes = "; ".join(f"{g} {p}" for g, p in rec.phenotypes)
        parts.append(
            f"CPIC{who} ({phenotypes}) - strength: {rec.classification or 'none'}; action: {rec.action.value}. "
            f"{' '.join(rec.text.split())} Source: {rec.guideline.name} <{rec.guideline.url}>"
        )
    return "\n".join(parts)


def _predictions(base: str, estimate: MedicationEstimate) -> list[dict[str, Any]]:
    system = twin_concepts(base)
    out: list[dict[str, Any]] = [
        {
            "outcome": {
                "coding": [{"system": system, "code": MEDICATION_RESPONSE, "display": "Predicted medication response"}],
                "text": f"{estimate.medication}: {RESPONSE_TEXT}",
            },
            "probabilityDecimal": round(estimate.response_probability, 4),
        }
    ]
    for name, p in estimate.side_effect_risks:
        out.append(
            {
                "outcome": {
                    "coding": [{"system": system, "code": SIDE_EFFECT_RISK, "display": "Predicted side-effect risk"}],
                    "text": f"{estimate.medication}: {SIDE_EFFECT_TEXT.get(name, name)}",
                },
                "probabilityDecimal": round(p, 4),
            }
        )
    return out


def risk_assessment(
    base: str, patient_id: str, candidate: Candidate, basis: Sequence[str], device_id: str, method: str
) -> dict[str, Any]:
    """The RiskAssessment of one candidate (`base`: our canonical base URL)."""
    system = twin_concepts(base)
    estimate = candidate.estimate
    resource: dict[str, Any] = {
        "resourceType": "RiskAssessment",
        "id": risk_assessment_id(patient_id, candidate.drug),
        "meta": {"tag": [{"system": system, "code": MEDICATION_RESPONSE, "display": "Predicted medication response"}]},
        "identifier": [{"system": f"{base}/{IDENTIFIER_PATH}", "value": f"{patient_id}/{candidate.drug}"}],
        "status": "preliminary" if estimate else "final",
        "method": {"text": method},
        "code": {
            "coding": [{"system": system, "code": MEDICATION_RESPONSE, "display": "Predicted medication response"}],
            "text": f"Predicted response and side-effect risk: {candidate.drug}",
        },
        "subject": {"reference": f"Patient/{patient_id}"},
        "performer": {"reference": f"Device/{device_id}"},
        "basis": [{"reference": ref} for ref in [*basis, f"MedicationKnowledge/{candidate.knowledge_id}"]],
        "mitigation": mitigation(candidate.guidance),
    }
    notes = [NOT_FOR_CLINICAL_USE]
    if estimate is not None:
        resource["prediction"] = _predictions(base, estimate)
        notes.insert(0, estimate.disclaimer)
    else:
        notes.insert(
            0,
            "No predicted probabilities: the response model does not know this drug, or the record "
            "lacks a diagnosis it knows (MDD, GAD, bipolar depression) or a birth date.",
        )
    resource["note"] = [{"text": n} for n in notes]
    return resource
