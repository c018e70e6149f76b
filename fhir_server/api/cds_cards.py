"""CDS Hooks 2.0 cards from pharmacogenomic alerts: CPIC text, strength and source, with suggestions.

Indicator: `critical` when CPIC's strong recommendation says to avoid the drug (or not to use it), `warning` for
every other dose or drug change, `info` for monitoring. Suggestions: replace the draft by an alternative (a
`delete` of the draft plus a `create` of the new MedicationRequest) when CPIC points to another drug, and an
`update` of the draft with the reduced dose when CPIC's text asks for one; the two exclude each other
(`selectionBehavior: at-most-one`). Card and suggestion uuids are uuid5s of their content, so the same request
gets the same cards. https://cds-hooks.hl7.org/2.0/#cds-service-response
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from mappings.pharmacogenomics import Alternative, DrugAlert

_NAMESPACE = uuid.UUID("0b8f1a8e-6b1c-5d7e-9a43-5c2f7e1d9b20")
SOURCE_LABEL = "CPIC guideline (via NovaMind Twin)"
MAX_SUMMARY = 140


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(parts)))


def indicator(alert: DrugAlert) -> str:
    folded = " ".join(alert.text.casefold().split())
    if alert.classification == "Strong" and (folded.startswith("avoid") or "do not use" in folded):
        return "critical"
    if alert.action.value == "careful monitoring":
        return "info"
    return "warning"


def _phenotype_text(alert: DrugAlert) -> str:
    return ", ".join(
        f"{p.gene} {p.phenotype}" + (f" ({p.diplotype})" if p.diplotype else "") for p in alert.phenotypes if p.tested
    )


def _summary(alert: DrugAlert) -> str:
    shown = ", ".join(f"{p.gene} {p.phenotype}" for p in alert.phenotypes if p.tested)
    text = f"{alert.drug.capitalize()}: {shown} - CPIC ({alert.classification}): {alert.action.value}"
    if alert.reduce_dose and alert.action.value == "consider alternative":
        text += " or reduce dose"
    return text if len(text) <= MAX_SUMMARY else text[: MAX_SUMMARY - 1] + "…"


def _detail(alert: DrugAlert) -> str:
    return (
        f"**Phenotype:** {_phenotype_text(alert)}\n\n"
        f"**CPIC recommendation ({alert.classification}):** {alert.text}\n\n"
        f"**Implications:** {alert.implications}\n\n"
        f"Source: [{alert.guideline_name}]({alert.guideline_url}). Action summary by NovaMind Twin; "
        "not for clinical use."
    )


def _medication(alt: Alternative) -> dict[str, Any]:
    concept: dict[str, Any] = {"text": alt.drug}
    if alt.coding:
        concept["coding"] = [alt.coding]
    return concept


def _replace(alert: DrugAlert, draft: dict[str, Any], alt: Alternative, first: bool) -> dict[str, Any]:
    new = {
        "resourceType": "MedicationRequest",
        "status": "draft",
        "intent": draft.get("intent", "order"),
        "medicationCodeableConcept": _medication(alt),
        "subject": draft.get("subject"),
        "note": [{"text": f"Suggested instead of {alert.drug} (CPIC: {alert.guideline_name})."}],
    }
    actions: list[dict[str, Any]] = []
    if draft.get("id"):
        actions.append(
            {
                "type": "delete",
                "description": f"Remove the {alert.drug} order",
                "resourceId": f"MedicationRequest/{draft['id']}",
            }
        )
    actions.append({"type": "create", "description": f"Order {alt.drug} instead", "resource": new})
    label = f"Replace {alert.drug} with {alt.drug}"
    if alt.response_probability is not None:
        label += f" (predicted response {alt.response_probability:.0%})"
    return {
        "label": label,
        "uuid": _uuid(alert.recommendation_id, str(draft.get("id")), "replace", alt.drug),
        "isRecommended": first and alert.action.value == "consider alternative",
        "actions": actions,
    }


def _scaled(dosage: dict[str, Any], factor: float) -> dict[str, Any]:
    for rate in dosage.get("doseAndRate", []):
        quantity = rate.get("doseQuantity")
        if isinstance(quantity, dict) and isinstance(quantity.get("value"), int | float):
            quantity["value"] = round(quantity["value"] * factor, 3)
    return dosage


def _reduce(alert: DrugAlert, draft: dict[str, Any]) -> dict[str, Any]:
    updated = copy.deepcopy(draft)
    percent = alert.dose_reduction_percent
    if percent:
        factor = 1 - percent / 100
        updated["dosageInstruction"] = [_scaled(d, factor) for d in updated.get("dosageInstruction", [])]
        label = f"Reduce the {alert.drug} dose by {percent}% (CPIC)"
    else:
        label = f"Use a lower {alert.drug} dose (CPIC)"
    note = f"Dose adjusted for {_phenotype_text(alert)} per CPIC ({alert.classification}): {alert.text}"
    updated["note"] = [*updated.get("note", []), {"text": note}]
    return {
        "label": label,
        "uuid": _uuid(alert.recommendation_id, str(draft.get("id")), "reduce"),
        "isRecommended": alert.action.value == "reduced dosing",
        "actions": [{"type": "update", "description": label, "resource": updated}],
    }


def order_card(alert: DrugAlert, draft: dict[str, Any], patient_id: str) -> dict[str, Any]:
    """The card for one actionable alert on one draft MedicationRequest."""
    suggestions = [_replace(alert, draft, alt, i == 0) for i, alt in enumerate(alert.alternatives)]
    if alert.reduce_dose:
        suggestions.append(_reduce(alert, draft))
    card: dict[str, Any] = {
        "uuid": _uuid(patient_id, str(draft.get("id")), alert.recommendation_id),
        "summary": _summary(alert),
        "detail": _detail(alert),
        "indicator": indicator(alert),
        "source": {"label": SOURCE_LABEL, "url": alert.guideline_url},
        "links": [{"label": alert.guideline_name, "url": alert.guideline_url, "type": "absolute"}],
    }
    if suggestions:
        card["suggestions"] = suggestions
        card["selectionBehavior"] = "at-most-one"
    return card


def patient_card(alerts: list[DrugAlert], patient_id: str) -> dict[str, Any]:
    """patient-view: one card listing the patient's current medications with actionable CPIC guidance."""
    drugs = ", ".join(sorted({a.drug for a in alerts}))
    worst = "critical" if any(indicator(a) == "critical" for a in alerts) else "warning"
    lines = [f"- **{a.drug}** ({_phenotype_text(a)}): CPIC {a.classification}: {a.text}" for a in alerts]
    summary = f"Gene-drug interactions in current medications: {drugs}"
    return {
        "uuid": _uuid(patient_id, "patient-view", *sorted(a.recommendation_id for a in alerts)),
        "summary": summary if len(summary) <= MAX_SUMMARY else summary[: MAX_SUMMARY - 1] + "…",
        "detail": "\n".join(lines) + "\n\nAction summaries by NovaMind Twin; not for clinical use.",
        "indicator": worst,
        "source": {"label": SOURCE_LABEL, "url": alerts[0].guideline_url},
    }
