"""`Patient/{id}/$everything`: the patient, their compartment, and what those resources reference."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from fhir_server.api.auditing import audit_served
from fhir_server.api.deps import base_url, services
from fhir_server.api.negotiation import check_accept, json_response
from fhir_server.api.security import request_access
from fhir_server.auth.policy import Interaction
from fhir_server.errors import InvalidRequest
from fhir_server.storage.clock import parse_instant, parse_instant_end

OFFERED_ON: tuple[str, ...] = ("Patient",)
router = APIRouter(prefix="/fhir")


def _instant(name: str, value: str | None, *, end: bool = False) -> int | None:
    if not value:
        return None
    try:
        return parse_instant_end(value) if end else parse_instant(value)
    except ValueError as exc:
        raise InvalidRequest(f"{name}={value!r} is not a FHIR date or dateTime.") from exc


@router.get("/Patient/{patient_id}/$everything")
async def everything(request: Request, patient_id: str) -> Response:
    check_accept(request)
    svc = services(request)
    access = await request_access(request)
    guard = access.guard
    guard.require(Interaction.OPERATION, "Patient", operation="everything")
    params = request.query_params
    types = {t.strip() for t in params.get("_type", "").split(",") if t.strip()}
    for t in types:
        svc.resources.check_type(t)
    raw_count = params.get("_count")
    if raw_count is not None and not raw_count.isdigit():
        raise InvalidRequest(f"_count={raw_count!r} must be a non-negative whole number.")
    count = int(raw_count) if raw_count else None
    async with svc.repository.unit_of_work(write=False) as uow:
        await svc.resources.read(uow, "Patient", patient_id, guard=guard)
        bundle = await svc.search.everything(
            uow,
            patient_id,
            types=types,
            since=_instant("_since", params.get("_since")),
            start=_instant("start", params.get("start")),
            end=_instant("end", params.get("end"), end=True),
            count=count,
            base=base_url(request),
            self_url=str(request.url),
            guard=guard,
        )
    content = orjson.dumps(bundle)
    audit_served(request, access, content)
    return json_response(content)
