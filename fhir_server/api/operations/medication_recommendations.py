"""`Patient/{id}/$medication-recommendations`: CPIC guidance and predicted response per candidate medication.

Input (GET query or POST `Parameters`): `medication` (0..*, a drug name or RxNorm code; default: the response
model's catalogue plus every drug with actionable CPIC guidance for this patient), `condition` (0..1, an
ICD-10-CM code, `system|code`, or MDD/GAD/bipolar), `min-efficacy` and `max-side-effect-risk` (0..1, decimals
in [0, 1]). Output: a `collection` Bundle - the answer is one computed set, not a page of a search, so it has no
`search` entries or paging links - holding the RiskAssessments (best balance first), then the phenotype
Observations, MedicationKnowledge entries and the Device they reference. Everything is stored too, so
`RiskAssessment?patient=…` and `MedicationKnowledge?code=…` find it; a rerun on the same inputs writes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from fhir_server.api.auditing import audit_served, audit_writes
from fhir_server.api.deps import base_url, services
from fhir_server.api.negotiation import check_accept, json_response, read_body
from fhir_server.api.operations.terminology_io import OperationInput
from fhir_server.api.pgx_state import advisor, confine_to_patient
from fhir_server.api.security import request_access
from fhir_server.auth.policy import Interaction
from fhir_server.errors import InvalidRequest
from fhir_server.services import pgx
from fhir_server.services.access import AccessGuard
from fhir_server.storage.repository import StoredResource, UnitOfWork
from mappings.pharmacogenomics import RecommendationQuery, Recommendations

OFFERED_ON: tuple[str, ...] = ("Patient",)
OPERATION = "medication-recommendations"
router = APIRouter(prefix="/fhir")


def _fraction(given: OperationInput, name: str) -> float | None:
    raw = given.text(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise InvalidRequest(f"{name}={raw!r} must be a probability between 0 and 1.")
    return value


def _query(given: OperationInput) -> RecommendationQuery:
    medications = [m.strip() for raw in given.texts("medication") for m in raw.split(",") if m.strip()]
    return RecommendationQuery(
        medications=tuple(medications),
        condition=given.text("condition"),
        min_efficacy=_fraction(given, "min-efficacy"),
        max_side_effect_risk=_fraction(given, "max-side-effect-risk"),
    )


def _bundle(result: Recommendations, stored: dict[str, StoredResource], base: str) -> dict[str, Any]:
    wanted = set(result.returned)
    risks = [r for r in result.risk_assessments if r["id"] in wanted]
    knowledge_refs = {b["reference"] for r in risks for b in r["basis"] if b["reference"].startswith("Medication")}
    ordered = [
        *risks,
        *result.phenotypes,
        *(k for k in result.knowledge if f"MedicationKnowledge/{k['id']}" in knowledge_refs),
        result.device,
    ]
    entries = []
    for item in ordered:
        key = f"{item['resourceType']}/{item['id']}"
        entries.append({"fullUrl": f"{base}/{key}", "resource": orjson.loads(stored[key].content or b"{}")})
    return {"resourceType": "Bundle", "type": "collection", "total": len(risks), "entry": entries}


@router.get(f"/Patient/{{patient_id}}/${OPERATION}")
@router.post(f"/Patient/{{patient_id}}/${OPERATION}")
async def medication_recommendations(request: Request, patient_id: str) -> Response:
    check_accept(request)
    svc = services(request)
    access = await request_access(request)
    decision = access.guard.require(Interaction.OPERATION, "Patient", operation=OPERATION)
    confine_to_patient(decision, patient_id)
    if request.method == "POST":
        given = OperationInput.from_body(await read_body(request))
    else:
        given = OperationInput.from_query(list(request.query_params.multi_items()))
    query = _query(given)
    async with svc.repository.unit_of_work(write=False) as uow:
        record = await pgx.load_record(svc.resources, svc.search, uow, patient_id, access.guard)
    result = pgx.recommend(advisor(request), record, query, datetime.now(UTC).date())
    server = AccessGuard.full_access(svc.registry)

    async def write(uow: UnitOfWork) -> dict[str, StoredResource]:
        return await pgx.store(svc.resources, uow, result.stored, server)

    stored = await svc.repository.retrying(write, before_commit=audit_writes(request, access))
    content = orjson.dumps(_bundle(result, stored, base_url(request)))
    audit_served(request, access, content)
    return json_response(content)
