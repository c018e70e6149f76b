"""POST /auth/revoke (RFC 7009): revoke an access or refresh token, effective on the next API request.

A refresh token takes its whole family with it (every refresh and access token issued from the same
authorization); an access token goes alone. The token must belong to the calling client: confidential
clients authenticate, public clients name themselves (or send nothing, when the token is a public
client's). Unknown, expired or already revoked tokens get the same 200 as a successful revocation, so the
endpoint cannot be used to test whether a token exists. `token_type_hint` only changes the lookup order.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from fhir_server.api.deps import services
from fhir_server.api.oauth.edge import audit, client_credentials, oauth_error, oauth_json, preflight, read_form
from fhir_server.audit.records import AuditOutcome
from fhir_server.auth.client_auth import ClientAuthenticator
from fhir_server.auth.components import AuthComponents
from fhir_server.auth.errors import InvalidRequest, InvalidToken, OAuthError, UnauthorizedClient
from fhir_server.auth.records import Client

router = APIRouter(prefix="/auth")


@router.post("/revoke")
async def revoke(request: Request) -> Response:
    auth = services(request).auth
    try:
        form = await read_form(request)
        client = await ClientAuthenticator(auth.store, auth.assertions).authenticate(client_credentials(request, form))
        token = form.get("token")
        if not token:
            raise InvalidRequest("token is required")
        if form.get("token_type_hint") == "refresh_token":
            await _revoke_refresh(auth, token, client) or await _revoke_access(auth, token, client)
        else:
            await _revoke_access(auth, token, client) or await _revoke_refresh(auth, token, client)
    except OAuthError as exc:
        audit(request, "revoke", AuditOutcome.MINOR_FAILURE, detail=f"{exc.error}: {exc.description}")
        return oauth_error(request, exc)
    audit(request, "revoke", AuditOutcome.SUCCESS, client_id=client.client_id if client else None)
    return oauth_json({})


@router.options("/revoke")
async def revoke_preflight() -> Response:
    return preflight()


async def _revoke_access(auth: AuthComponents, token: str, client: Client | None) -> bool:
    try:
        claims = auth.tokens.verify(token)
    except InvalidToken:
        return False  # not ours, malformed or expired: nothing left to revoke
    await _check_owner(auth, claims.client_id, client)
    await auth.store.revoke_access_token(claims.jti)
    return True


async def _revoke_refresh(auth: AuthComponents, token: str, client: Client | None) -> bool:
    record = await auth.store.find_refresh_token(token)
    if record is None:
        return False
    await _check_owner(auth, record.client_id, client)
    await auth.store.revoke_family(record.family)
    return True


async def _check_owner(auth: AuthComponents, owner_id: str, client: Client | None) -> None:
    if client is None:
        owner = await auth.store.client(owner_id)
        if owner is not None and not owner.confidential:
            return
        raise UnauthorizedClient("authenticate as the client this token was issued to")
    if client.client_id != owner_id:
        raise UnauthorizedClient("this token was issued to another client")
