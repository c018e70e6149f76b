"""POST /auth/token: the form in, `TokenEndpoint` (fhir_server.auth.grants) decides, RFC 6749 JSON out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from fhir_server.api.deps import services
from fhir_server.api.oauth.edge import client_credentials, oauth_error, oauth_json, preflight, read_form
from fhir_server.auth.errors import OAuthError
from fhir_server.auth.grants import TokenEndpoint

router = APIRouter(prefix="/auth")


@router.post("/token")
async def token(request: Request) -> Response:
    endpoint = TokenEndpoint(services(request).auth)
    try:
        form = await read_form(request)
        issued = await endpoint.exchange(form, client_credentials(request, form))
    except OAuthError as exc:
        return oauth_error(request, exc)
    return oauth_json(issued.body())


@router.options("/token")
async def token_preflight() -> Response:
    return preflight()
