"""The resource server's front door: every FHIR request is authenticated here before any service runs.

`request_access` turns the `Authorization: Bearer` header into a `RequestAccess`: the verified token's
identity (for the audit trail) and its `AccessGuard` (for the services). The token must be one we signed
(`AccessTokenService.verify`: algorithm, key, issuer, audience, expiry) and must not have been revoked —
revocation is looked up on every request so that it takes effect at once in every API process.

Local development may switch authorization off (`NOVAMIND_INSECURE_NO_AUTH`, `novamind serve --no-auth`),
only on loopback; the request then runs with a full-access development identity, and is still audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from fastapi import Request

from fhir_server.api.deps import services
from fhir_server.auth.errors import InvalidToken
from fhir_server.auth.policy import AccessPolicy, build_policy
from fhir_server.auth.roles import Role
from fhir_server.auth.scopes import parse_scopes
from fhir_server.auth.tokens import AccessTokenClaims
from fhir_server.services.access import AccessGuard


@dataclass(frozen=True, slots=True)
class RequestAccess:
    """Who is asking (for the audit trail) and what they may do (for the services)."""

    guard: AccessGuard
    client_id: str | None
    subject: str | None
    fhir_user: str | None = None
    role: str | None = None
    patient: str | None = None
    jti: str | None = None
    source_ip: str | None = None

    @property
    def policy(self) -> AccessPolicy:
        return self.guard.policy


async def request_access(request: Request) -> RequestAccess:
    """The request's verified access, computed once per request; `InvalidToken` (401) when there is none."""
    cached = getattr(request.state, "access", None)
    if isinstance(cached, RequestAccess):
        return cached
    if services(request).settings.insecure_no_auth:
        access = developer_access(request)
    else:
        access = access_from_claims(request, await verify_bearer(request))
    request.state.access = access
    return access


def developer_access(request: Request) -> RequestAccess:
    """Full access for `novamind serve --no-auth` (loopback development only)."""
    svc = services(request)
    source_ip = request.client.host if request.client else None
    return RequestAccess(AccessGuard.full_access(svc.registry), "insecure-no-auth", "developer", source_ip=source_ip)


def access_from_claims(request: Request, claims: AccessTokenClaims) -> RequestAccess:
    """What a verified token lets this request do."""
    return RequestAccess(
        AccessGuard(_policy(claims), services(request).registry),
        claims.client_id,
        claims.sub,
        fhir_user=claims.fhir_user,
        role=claims.role.value if claims.role else None,
        patient=claims.patient,
        jti=claims.jti,
        source_ip=request.client.host if request.client else None,
    )


async def verify_bearer(request: Request) -> AccessTokenClaims:
    """The claims of the request's bearer token, which must be ours, current and not revoked."""
    header = request.headers.get("authorization")
    if not header:
        raise InvalidToken("This FHIR server needs an access token: send 'Authorization: Bearer <token>'.")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("The Authorization header must be 'Bearer <access token>'.")
    return await verify_token(request, token.strip())


async def verify_token(request: Request, token: str) -> AccessTokenClaims:
    """The claims of an access token (however it arrived), which must be ours, current and not revoked."""
    auth = services(request).auth
    claims = auth.tokens.verify(token)
    if not await auth.store.access_token_active(claims.jti):
        raise InvalidToken("The access token has been revoked; obtain a new one.")
    return claims


def _policy(claims: AccessTokenClaims) -> AccessPolicy:
    return _cached_policy(claims.scope, claims.patient, claims.role)


@lru_cache(maxsize=4096)
def _cached_policy(scope: str, patient: str | None, role: Role | None) -> AccessPolicy:
    # A policy depends only on these three values and is immutable: tokens of one app share it.
    return build_policy(parse_scopes(scope), patient=patient, role=role)
