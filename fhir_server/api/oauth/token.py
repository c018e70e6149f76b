"""POST /auth/token: the form in, `TokenEndpoint` (fhir_server.auth.grants) decides, RFC 6749 JSON out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from fhir_server.api.deps import services
from fhir_server.api.oauth.edge import audit, client_credentials, oauth_error, oauth_json, preflight, read_form
from fhir_server.audit.records import AuditOutcome
from fhir_server.auth.errors import OAuthError
from fhir_server.auth.grants import TokenEndpoint

router = APIRouter(prefix="/auth")


@router.post("/token")
async def token(request: Request) -> Response:
    endpoint = TokenEndpoint(services(request).auth)
    form: dict[str, str] = {}
    try:
        form = await read_form(request)
        issued = await endpoint.exchange(form, client_credentials(request, form))
    except OAuthError as exc:
        detail = f"{form.get('grant_type', '?')}: {exc.error}: {exc.description}"
        audit(request, "token", AuditOutcome.MINOR_FAILURE, detail=detail, client_id=form.get("client_id"))
        return oauth_error(request, exc)
    audit(request, "token", AuditOutcome.SUCCESS, detail=f"{form.get('grant_type')}", claims=issued.access.claims)
    return oauth_json(issued.body())


@router.options("/token")
async def token_preflight() -> Response:
    return preflight()
