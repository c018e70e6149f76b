"""`$validate`: the write-time validation, without writing (Resource-validate)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from fhir_server.api.deps import services
from fhir_server.api.negotiation import check_accept, json_response, read_body
from fhir_server.api.outcomes import informational, outcome_for
from fhir_server.api.security import request_access
from fhir_server.auth.policy import Interaction
from fhir_server.errors import FhirError, InvalidRequest
from fhir_server.fhir_models import validate_resource

OFFERED_ON: tuple[str, ...] = ("*",)  # every type; filled per type by the app factory
router = APIRouter(prefix="/fhir")


def _resource_of(body: Any) -> Any:
    if isinstance(body, dict) and body.get("resourceType") == "Parameters":
        for p in body.get("parameter") or []:
            if p.get("name") == "resource" and "resource" in p:
                return p["resource"]
        raise InvalidRequest("$validate with Parameters needs a 'resource' parameter holding the resource.")
    return body


async def _validate(request: Request, res_type: str, res_id: str | None) -> Response:
    check_accept(request)
    services(request).resources.check_type(res_type)
    (await request_access(request)).guard.require(Interaction.OPERATION, res_type, operation="validate")
    resource = _resource_of(await read_body(request))
    try:
        validate_resource(resource, res_type)
        if res_id is not None and isinstance(resource, dict) and resource.get("id") != res_id:
            raise InvalidRequest(f"The resource's id must be {res_id!r} to validate it against {res_type}/{res_id}.")
    except FhirError as exc:
        return json_response(outcome_for(exc), 200)
    return json_response(informational(f"The {res_type} is valid FHIR R4."), 200)


@router.post("/{res_type}/$validate")
async def validate_type(request: Request, res_type: str) -> Response:
    return await _validate(request, res_type, None)


@router.post("/{res_type}/{res_id}/$validate")
async def validate_instance(request: Request, res_type: str, res_id: str) -> Response:
    return await _validate(request, res_type, res_id)
