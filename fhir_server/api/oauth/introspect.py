"""POST /auth/introspect (RFC 7662): is this token active, and what does it grant?

The caller is either a registered confidential client (Basic, client_secret_post or private_key_jwt) or
holds an active access token of its own (`Authorization: Bearer`), as SMART's introspection guidance
allows for resource servers. Anything not active, for whatever reason, is `{"active": false}` and nothing
else, so the answer never says why. Refresh tokens are described only to the client they belong to.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from fhir_server.api.deps import services
from fhir_server.api.oauth.edge import audit, client_credentials, oauth_error, oauth_json, preflight, read_form
from fhir_server.audit.records import AuditOutcome
from fhir_server.auth.client_auth import ClientAuthenticator
from fhir_server.auth.components import AuthComponents
from fhir_server.auth.errors import InvalidClient, InvalidRequest, InvalidToken, OAuthError
from fhir_server.auth.records import Client

router = APIRouter(prefix="/auth")
INACTIVE: dict[str, Any] = {"active": False}


@router.post("/introspect")
async def introspect(request: Request) -> Response:
    auth = services(request).auth
    try:
        form = await read_form(request)
        caller = await _caller(request, form, auth)
        token = form.get("token")
        if not token:
            raise InvalidRequest("token is required")
    except OAuthError as exc:
        audit(request, "introspect", AuditOutcome.MINOR_FAILURE, detail=f"{exc.error}: {exc.description}")
        return _refused(request, exc)
    audit(request, "introspect", AuditOutcome.SUCCESS, client_id=caller.client_id if caller else None)
    return oauth_json(await _describe(auth, token, caller))


@router.options("/introspect")
async def introspect_preflight() -> Response:
    return preflight()


async def _caller(request: Request, form: dict[str, str], auth: AuthComponents) -> Client | None:
    """The confidential client asking, or None for a caller holding an active access token."""
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        try:
            claims = auth.tokens.verify(header[7:].strip())
        except InvalidToken as exc:
            raise InvalidClient("the bearer token is not valid") from exc
        if not await auth.store.access_token_active(claims.jti):
            raise InvalidClient("the bearer token is not active")
        return None
    client = await ClientAuthenticator(auth.store, auth.assertions).authenticate(client_credentials(request, form))
    if client is None or not client.confidential:
        raise InvalidClient("introspection needs a confidential client or a bearer token")
    return client


def _refused(request: Request, error: OAuthError) -> Response:
    if isinstance(error, InvalidClient) and request.headers.get("authorization", "")[:7].lower() == "bearer ":
        challenge = 'Bearer error="invalid_token"'
        return oauth_json(error.to_json(), 401, {"WWW-Authenticate": challenge})
    if isinstance(error, InvalidClient):
        return oauth_json(error.to_json(), 401, {"WWW-Authenticate": 'Basic realm="novamind"'})
    return oauth_error(request, error)


async def _describe(auth: AuthComponents, token: str, caller: Client | None) -> dict[str, Any]:
    try:
        claims = auth.tokens.verify(token)
    except InvalidToken:
        return await _describe_refresh(auth, token, caller)
    if not await auth.store.access_token_active(claims.jti):
        return INACTIVE
    body: dict[str, Any] = {
        "active": True,
        "scope": claims.scope,
        "client_id": claims.client_id,
        "sub": claims.sub,
        "exp": int(claims.expires_at.timestamp()),
        "iat": int(claims.issued_at.timestamp()),
        "iss": claims.iss,
        "aud": claims.aud,
        "token_type": "Bearer",
    }
    optional = {"patient": claims.patient, "encounter": claims.encounter, "fhirUser": claims.fhir_user}
    body.update({k: v for k, v in optional.items() if v is not None})
    return body


async def _describe_refresh(auth: AuthComponents, token: str, caller: Client | None) -> dict[str, Any]:
    record = await auth.store.find_refresh_token(token)
    if record is None or caller is None or record.client_id != caller.client_id:
        return INACTIVE
    if record.used or record.revoked or not record.session_alive or record.expires_at <= auth.clock():
        return INACTIVE
    return {
        "active": True,
        "scope": record.scope,
        "client_id": record.client_id,
        "sub": record.username,
        "exp": int(record.expires_at.timestamp()),
        "iss": auth.issuer,
        "token_type": "refresh_token",
    }
