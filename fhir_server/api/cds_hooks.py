"""CDS Hooks 2.0 service: `GET /cds-services` (discovery) and `POST /cds-services/{id}` for `order-select`,
`order-sign` (MedicationRequest drafts in `context.draftOrders`) and `patient-view`.

Authorisation is SMART, as for the FHIR API: the request must carry an access token this server issued, either
as `fhirAuthorization.access_token` (what a CDS client sends for our FHIR server) or as `Authorization: Bearer`.
The token must permit searching Observations; a token confined to one patient gets 403 for any other
`context.patientId`. Data come from `prefetch` when the client sends it (only the patient's own resources are
used), otherwise from storage through the same guard. Every call that reads patient data is audited.
https://cds-hooks.hl7.org/2.0/
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from fhir_server.api.cds_cards import order_card, patient_card
from fhir_server.api.deps import services
from fhir_server.api.negotiation import read_body
from fhir_server.api.pgx_state import advisor, confine_to_patient
from fhir_server.api.security import RequestAccess, access_from_claims, developer_access, verify_token
from fhir_server.audit.records import AuditKind, AuditOutcome, AuditRecord
from fhir_server.auth.errors import InsufficientScope, InvalidToken
from fhir_server.auth.policy import Interaction
from fhir_server.errors import FhirError, InvalidRequest, NotFound
from fhir_server.services import pgx
from mappings.pharmacogenomics import DrugAlert, PatientRecord

router = APIRouter(prefix="/cds-services")
GENOTYPES = "Observation?patient={{context.patientId}}&code=http://loinc.org|84413-4"
_COMMON_PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "genotypes": GENOTYPES,
    "conditions": "Condition?patient={{context.patientId}}",
}
SERVICES: dict[str, dict[str, Any]] = {
    "novamind-pgx-order-select": {
        "hook": "order-select",
        "title": "Pharmacogenomic check of selected medication orders",
        "description": "CPIC gene-drug guidance for the selected draft MedicationRequests, from the patient's "
        "genotype Observations, with alternative or dose-adjustment suggestions.",
        "prefetch": _COMMON_PREFETCH,
    },
    "novamind-pgx-order-sign": {
        "hook": "order-sign",
        "title": "Pharmacogenomic check of medication orders before signing",
        "description": "CPIC gene-drug guidance for every draft MedicationRequest about to be signed.",
        "prefetch": _COMMON_PREFETCH,
    },
    "novamind-pgx-patient-view": {
        "hook": "patient-view",
        "title": "Pharmacogenomic review of current medications",
        "description": "Current medications with actionable CPIC gene-drug guidance for this patient.",
        "prefetch": {
            **_COMMON_PREFETCH,
            "medications": "MedicationRequest?patient={{context.patientId}}&status=active",
        },
    },
}
JSON = "application/json"


@router.get("")
async def discovery() -> Response:
    body = {"services": [{"id": sid, **spec, "usageRequirements": _USAGE} for sid, spec in SERVICES.items()]}
    return Response(orjson.dumps(body), media_type=JSON)


_USAGE = (
    "Send an access token issued by this server (fhirAuthorization.access_token or Authorization: Bearer) "
    "permitting Observation search for the patient."
)


async def _access(request: Request, body: dict[str, Any]) -> RequestAccess:
    """The caller's access from `fhirAuthorization` or the bearer header: a token we issued, current, unrevoked."""
    if services(request).settings.insecure_no_auth:
        return developer_access(request)
    fhir_auth = body.get("fhirAuthorization")
    token = fhir_auth.get("access_token") if isinstance(fhir_auth, dict) else None
    if not token:
        scheme, _, value = (request.headers.get("authorization") or "").partition(" ")
        token = value.strip() if scheme.lower() == "bearer" else None
    if not token:
        raise InvalidToken("Send an access token of this server as fhirAuthorization.access_token or a Bearer header.")
    return access_from_claims(request, await verify_token(request, str(token)))


def _resources(value: Any, res_type: str, patient_id: str) -> list[dict[str, Any]]:
    """The `res_type` resources of a prefetched Bundle (or resource) that belong to this patient."""
    if not isinstance(value, dict):
        return []
    items = [e.get("resource") for e in value.get("entry", [])] if value.get("resourceType") == "Bundle" else [value]
    wanted = f"Patient/{patient_id}"
    return [
        r
        for r in items
        if isinstance(r, dict)
        and r.get("resourceType") == res_type
        and (r.get("subject") or {}).get("reference", "").endswith(wanted)
    ]


async def _record(request: Request, access: RequestAccess, body: dict[str, Any], patient_id: str) -> PatientRecord:
    prefetch = _object(body.get("prefetch"))
    patient = prefetch.get("patient")
    if isinstance(patient, dict) and patient.get("id") == patient_id and "genotypes" in prefetch:
        return PatientRecord(
            patient,
            tuple(_resources(prefetch.get("genotypes"), "Observation", patient_id)),
            tuple(_resources(prefetch.get("conditions"), "Condition", patient_id)),
            tuple(_resources(prefetch.get("medications"), "MedicationRequest", patient_id)),
        )
    svc = services(request)
    async with svc.repository.unit_of_work(write=False) as uow:
        return await pgx.load_record(svc.resources, svc.search, uow, patient_id, access.guard)


def _object(value: Any) -> dict[str, Any]:
    """A JSON object from the request, or an empty one for anything else (absent, null, a list...)."""
    return value if isinstance(value, dict) else {}


def _drafts(context: dict[str, Any], hook: str) -> list[dict[str, Any]]:
    orders = _object(context.get("draftOrders"))
    entries = [_object(e.get("resource")) for e in orders.get("entry", []) if isinstance(e, dict)]
    drafts = [d for d in entries if d.get("resourceType") == "MedicationRequest"]
    if hook == "order-select":
        selected = set(context.get("selections") or [])
        drafts = [d for d in drafts if f"MedicationRequest/{d.get('id')}" in selected]
    return drafts


def _cards(request: Request, hook: str, record: PatientRecord, context: dict[str, Any]) -> list[dict[str, Any]]:
    pgx_advisor = advisor(request)
    today = datetime.now(UTC).date()
    if hook == "patient-view":
        current = [m for m in record.medications if m.get("status") in (None, "active")]
        found: list[DrugAlert] = []
        for drug in dict.fromkeys(pgx_advisor.drug_of(m.get("medicationCodeableConcept")) for m in current):
            if drug:
                found += pgx.alerts(pgx_advisor, record, drug, today)
        return [patient_card(found, record.patient_id)] if found else []
    cards = []
    for draft in _drafts(context, hook):
        drug = pgx_advisor.drug_of(draft.get("medicationCodeableConcept"))
        if drug:
            cards += [order_card(a, draft, record.patient_id) for a in pgx.alerts(pgx_advisor, record, drug, today)]
    return cards


@router.post("/{service_id}")
async def call_service(request: Request, service_id: str) -> Response:
    spec = SERVICES.get(service_id)
    if spec is None:
        raise NotFound(f"No CDS service {service_id!r} here; GET /cds-services lists them.")
    body = await read_body(request)
    access: RequestAccess | None = None
    patient_id = ""
    try:
        if not isinstance(body, dict) or body.get("hook") != spec["hook"]:
            raise InvalidRequest(f"{service_id} answers the {spec['hook']!r} hook; send it as 'hook'.")
        context = _object(body.get("context"))
        patient_id = str(context.get("patientId") or "")
        if not patient_id:
            raise InvalidRequest("context.patientId is required.")
        access = await _access(request, body)
        confine_to_patient(access.guard.require(Interaction.SEARCH_TYPE, "Observation"), patient_id)
        record = await _record(request, access, body, patient_id)
        cards = _cards(request, spec["hook"], record, context)
    except FhirError as exc:
        _audit(request, access, patient_id, (), exc)
        raise
    _audit(request, access, patient_id, [dict(o) for o in record.observations if o.get("id")], None)
    return Response(orjson.dumps({"cards": cards}), media_type=JSON)


def _audit(
    request: Request,
    access: RequestAccess | None,
    patient_id: str,
    observations: Iterable[dict[str, Any]],
    error: FhirError | None,
) -> None:
    """Every CDS call is an access to patient data (or a refused attempt): one audit record each."""
    security = isinstance(error, InvalidToken | InsufficientScope)
    record = AuditRecord(
        kind=AuditKind.SECURITY if security else AuditKind.REST,
        action="E",
        interaction="operation",
        outcome=AuditOutcome.SUCCESS if error is None else AuditOutcome.MINOR_FAILURE,
        outcome_detail=None if error is None else error.message[:1000],
        client_id=access.client_id if access else None,
        subject=access.subject if access else None,
        fhir_user=access.fhir_user if access else None,
        role=access.role if access else None,
        patients=tuple(sorted({p for p in (patient_id, access.patient if access else None) if p})),
        entities=tuple(f"Observation/{o['id']}" for o in observations),
        query=request.url.path,
        source_ip=request.client.host if request.client else None,
    )
    services(request).audit.record(record)
