"""End to end: a CYP2C19 *2/*2 patient gets CPIC's alternative / reduced-dose card when escitalopram is ordered
through the CDS Hooks `order-sign` service of a running server."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import new_patient

pytestmark = pytest.mark.e2e
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def _genotype(pid: str) -> dict[str, object]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}
                ]
            },
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "GE"}]},
        ],
        "code": {"coding": [{"system": LOINC, "code": "84413-4"}]},
        "subject": {"reference": f"Patient/{pid}"},
        "valueCodeableConcept": {"text": "CYP2C19 *2/*2"},
        "component": [
            {
                "code": {"coding": [{"system": LOINC, "code": "48018-6"}]},
                "valueCodeableConcept": {"coding": [{"system": "http://www.genenames.org", "code": "HGNC:2621"}]},
            }
        ],
    }


def test_poor_metabolizer_gets_reduced_dose_card_on_order_sign(server: str, auth: dict[str, str], token: str) -> None:
    pid = new_patient(server, auth, "cds")
    r = httpx.post(f"{server}/Observation", json=_genotype(pid), headers=auth)
    assert r.status_code == 201, r.text
    origin = server.removesuffix("/fhir")
    discovery = httpx.get(f"{origin}/cds-services").json()
    assert "novamind-pgx-order-sign" in {s["id"] for s in discovery["services"]}
    draft = {
        "resourceType": "MedicationRequest",
        "id": "draft-esc",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{pid}"},
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "321988"}], "text": "escitalopram"},
        "dosageInstruction": [{"doseAndRate": [{"doseQuantity": {"value": 10, "unit": "mg"}}]}],
    }
    body = {
        "hook": "order-sign",
        "hookInstance": "3c2f1b0a-9d8e-4f7a-8b6c-5d4e3f2a1b0c",
        "fhirServer": server,
        "fhirAuthorization": {
            "access_token": token,
            "token_type": "Bearer",
            "scope": "system/*.cruds",
            "subject": "e2e",
        },
        "context": {
            "userId": "Practitioner/e2e",
            "patientId": pid,
            "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": draft}]},
        },
    }
    r = httpx.post(f"{origin}/cds-services/novamind-pgx-order-sign", json=body, timeout=60)
    assert r.status_code == 200, r.text
    (card,) = r.json()["cards"]
    assert "CYP2C19 Poor Metabolizer" in card["summary"] and "reduce dose" in card["summary"]
    assert "50% reduction" in card["detail"] and "Strong" in card["detail"]
    labels = [s["label"] for s in card["suggestions"]]
    assert any(label.startswith("Replace escitalopram with") for label in labels)
    assert "Reduce the escitalopram dose by 50% (CPIC)" in labels
    assert card["selectionBehavior"] == "at-most-one"
    unauthorised = httpx.post(
        f"{origin}/cds-services/novamind-pgx-order-sign", json={**body, "fhirAuthorization": None}
    )
    assert unauthorised.status_code == 401
