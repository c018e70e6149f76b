"""`AuthComponents`: the authorization server's parts, built once by the composition root from the settings.

One object so that routers, the resource server and the admin CLI all share the same keys, issuer and
store, and so that every access token we sign is also recorded (revocation needs the record): signing goes
through `issue_access_token`, never through `tokens.issue` alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from fhir_server.auth.client_assertion import ClientAssertionVerifier
from fhir_server.auth.clock import Clock, utc_now
from fhir_server.auth.id_tokens import IdTokenIssuer
from fhir_server.auth.keys import KeyRing
from fhir_server.auth.passwords import Passwords
from fhir_server.auth.roles import Role
from fhir_server.auth.scopes import ScopeSet
from fhir_server.auth.store import AuthStore, Probe
from fhir_server.auth.tokens import AccessTokenService, IssuedToken
from fhir_server.settings import Settings

JWKS_FETCH_TIMEOUT = httpx.Timeout(5.0)
MAX_JWKS_BYTES = 65_536


@dataclass(frozen=True)
class AuthComponents:
    keys: KeyRing
    tokens: AccessTokenService
    id_tokens: IdTokenIssuer
    store: AuthStore
    assertions: ClientAssertionVerifier
    clock: Clock
    issuer: str  # = the FHIR base URL, also the access tokens' audience
    auth_base: str  # where /auth/* is served
    access_lifetime: timedelta
    refresh_lifetime: timedelta  # offline_access

    @property
    def token_endpoint(self) -> str:
        return f"{self.auth_base}/token"

    async def issue_access_token(
        self,
        *,
        subject: str,
        client_id: str,
        scopes: ScopeSet,
        patient: str | None = None,
        encounter: str | None = None,
        fhir_user: str | None = None,
        role: Role | None = None,
        lifetime: timedelta | None = None,
        family: str | None = None,
        session_key: str | None = None,
    ) -> IssuedToken:
        """Sign an access token and record its jti, so introspection and revocation know it."""
        issued = self.tokens.issue(
            subject=subject,
            client_id=client_id,
            scopes=scopes,
            patient=patient,
            encounter=encounter,
            fhir_user=fhir_user,
            role=role,
            lifetime=lifetime,
        )
        await self.store.record_access_token(issued.claims, family=family, session_key=session_key)
        return issued

    def refresh_expiry(self) -> datetime:
        return self.clock() + self.refresh_lifetime


async def fetch_jwks(url: str) -> Mapping[str, Any]:
    """A client's registered JWKS URL, fetched fresh (so key rotation on their side needs nothing on ours)."""
    async with httpx.AsyncClient(timeout=JWKS_FETCH_TIMEOUT, follow_redirects=False) as http:
        response = await http.get(url, headers={"Accept": "application/json"})
    response.raise_for_status()
    if len(response.content) > MAX_JWKS_BYTES:
        raise ValueError("JWKS document is too large")
    document = response.json()
    if not isinstance(document, dict):
        raise ValueError("JWKS document is not a JSON object")
    return document


def build_auth_components(
    settings: Settings,
    engine: AsyncEngine,
    *,
    clock: Clock = utc_now,
    passwords: Passwords | None = None,
    probe: Probe | None = None,
) -> AuthComponents:
    """Open (on first start: create) the signing keys and wire the authorization server over `engine`."""
    issuer = settings.base_url()
    keys = KeyRing.open(settings.resolved_keys_dir(), clock=clock)
    store = AuthStore(
        engine,
        passwords or Passwords(time_cost=settings.argon2_time_cost, memory_cost_kib=settings.argon2_memory_kib),
        clock=clock,
        session_lifetime=timedelta(seconds=settings.session_seconds),
        probe=probe,
    )
    token_lifetime = timedelta(seconds=settings.access_token_seconds)
    auth_base = settings.auth_base_url()
    return AuthComponents(
        keys=keys,
        tokens=AccessTokenService(keys, issuer=issuer, audience=issuer, clock=clock, lifetime=token_lifetime),
        id_tokens=IdTokenIssuer(keys, issuer=issuer, clock=clock, lifetime=token_lifetime),
        store=store,
        assertions=ClientAssertionVerifier(
            token_endpoint=f"{auth_base}/token", jti_store=store, fetch_jwks=fetch_jwks, clock=clock
        ),
        clock=clock,
        issuer=issuer,
        auth_base=auth_base,
        access_lifetime=token_lifetime,
        refresh_lifetime=timedelta(days=settings.refresh_token_days),
    )
