"""The token endpoint's grant types: what `/auth/token` does with a form once the HTTP edge has parsed it.

- `authorization_code`: the code is single use, about a minute long, bound to the client, the redirect URI
  and the PKCE S256 challenge. A code presented again is refused and everything it issued is revoked
  (RFC 6749 4.1.2). The user, scopes and launch context come from the code, never from the request.
- `refresh_token`: bound to its client (public clients may omit `client_id`), rotated on every use; a
  rotated token presented again revokes its family (OAuth 2.0 Security BCP 4.14.2). `scope` may narrow,
  never widen. `offline_access` tokens are long-lived; `online_access` ones work while the login session
  that granted them lives.
- `client_credentials`: SMART Backend Services, `private_key_jwt` only; `system/` scopes cut to what the
  client is registered for; no refresh token.

Every failure is an `OAuthError`; the edge renders it (RFC 6749 5.2).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fhir_server.auth.client_auth import ClientAuthenticator, ClientCredentials
from fhir_server.auth.components import AuthComponents
from fhir_server.auth.errors import (
    InvalidClient,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from fhir_server.auth.records import Client, ClientKind, CodeRecord, LaunchContext, RefreshRecord, User
from fhir_server.auth.scopes import ScopeContext, ScopeSet, parse_scopes
from fhir_server.auth.tokens import IssuedToken

# RFC 7636 4.1: 43 to 128 characters of the unreserved set.
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
BACKEND_TOKEN_LIFETIME = timedelta(minutes=5)  # SMART Backend Services recommends five minutes


@dataclass(frozen=True, slots=True)
class TokenResponse:
    """A successful token response; `body` is the RFC 6749 5.1 JSON with SMART's launch context."""

    access: IssuedToken
    scopes: ScopeSet
    refresh_token: str | None = None
    id_token: str | None = None
    context: LaunchContext | None = None
    style_url: str | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "access_token": self.access.token,
            "token_type": "Bearer",
            "expires_in": self.access.expires_in,
            "scope": self.scopes.to_string(),
        }
        if self.refresh_token is not None:
            body["refresh_token"] = self.refresh_token
        if self.id_token is not None:
            body["id_token"] = self.id_token
        if self.context is not None:
            body.update(_context_parameters(self.context))
            if self.style_url is not None:
                body["smart_style_url"] = self.style_url
        return body


def _context_parameters(context: LaunchContext) -> dict[str, Any]:
    values: dict[str, Any] = {"patient": context.patient, "encounter": context.encounter, "intent": context.intent}
    params = {k: v for k, v in values.items() if v is not None}
    if context.fhir_context:
        params["fhirContext"] = [dict(item) for item in context.fhir_context]
    if context.patient is not None:
        params["need_patient_banner"] = context.need_patient_banner
    return params


def pkce_s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def check_pkce(verifier: str | None, challenge: str) -> None:
    if not verifier:
        raise InvalidGrant("code_verifier is required (PKCE)")
    if not _VERIFIER.match(verifier):
        raise InvalidGrant("code_verifier is malformed (RFC 7636: 43-128 unreserved characters)")
    if not hmac.compare_digest(pkce_s256(verifier), challenge):
        raise InvalidGrant("code_verifier does not match the code_challenge")


class TokenEndpoint:
    def __init__(self, auth: AuthComponents) -> None:
        self._auth = auth
        self._store = auth.store
        self._clients = ClientAuthenticator(auth.store, auth.assertions)
        self.style_url = f"{auth.auth_base}/smart-style.json"

    async def exchange(self, form: Mapping[str, str], credentials: ClientCredentials) -> TokenResponse:
        grant_type = form.get("grant_type")
        if not grant_type:
            raise InvalidRequest("grant_type is required")
        if grant_type == "authorization_code":
            return await self._authorization_code(form, credentials)
        if grant_type == "refresh_token":
            return await self._refresh_token(form, credentials)
        if grant_type == "client_credentials":
            return await self._client_credentials(form, credentials)
        raise UnsupportedGrantType(f"grant_type {grant_type!r} is not supported")

    # -- authorization_code ----------------------------------------------------------------------------

    async def _authorization_code(self, form: Mapping[str, str], credentials: ClientCredentials) -> TokenResponse:
        client = await self._clients.authenticate(credentials)
        if client is None:
            raise InvalidClient("client_id is required")
        record, family = await self._redeem(client, form)
        grant = record.grant
        user = await self._user(grant.username)
        scopes = parse_scopes(grant.scope).within(parse_scopes(client.scope))
        patient = _patient(user, grant.context)
        refresh = None
        if "offline_access" in scopes or ("online_access" in scopes and record.session_key is not None):
            refresh = await self._store.issue_refresh_token(
                family=family,
                client_id=client.client_id,
                username=user.username,
                scope=scopes.to_string(),
                context=grant.context,
                offline="offline_access" in scopes,
                expires_at=self._auth.refresh_expiry(),
                session_key=record.session_key,
            )
        access = await self._user_token(client, user, scopes, grant.context, patient, family, record.session_key)
        id_token = self._id_token(user, client, scopes, grant.nonce)
        return TokenResponse(access, scopes, refresh, id_token, grant.context, self.style_url)

    async def _redeem(self, client: Client, form: Mapping[str, str]) -> tuple[CodeRecord, str]:
        """Check the code against the request, then consume it: (what it stood for, its new token family).

        The checks come before consumption, so a request with a wrong verifier or redirect URI cannot burn
        a legitimate client's code; a code already used revokes what it issued, whoever presents it.
        """
        code, redirect_uri = form.get("code"), form.get("redirect_uri")
        if not code:
            raise InvalidRequest("code is required")
        if not redirect_uri:
            raise InvalidRequest("redirect_uri is required")
        record = await self._store.find_code(code)
        if record is None:
            raise InvalidGrant("unknown authorization code")
        if record.used:
            if record.family is not None:
                await self._store.revoke_family(record.family)
            raise InvalidGrant("authorization code was already used; the tokens it issued are revoked")
        if record.expires_at <= self._auth.clock():
            raise InvalidGrant("authorization code has expired")
        if record.grant.client_id != client.client_id:
            raise InvalidGrant("authorization code was issued to another client")
        if record.grant.redirect_uri != redirect_uri:
            raise InvalidGrant("redirect_uri does not match the authorization request")
        check_pkce(form.get("code_verifier"), record.grant.code_challenge)
        family = await self._store.consume_code(code)
        if family is None:  # lost a race with another redemption of the same code
            raced = await self._store.find_code(code)
            if raced is not None and raced.family is not None:
                await self._store.revoke_family(raced.family)
            raise InvalidGrant("authorization code was already used")
        return record, family

    # -- refresh_token ---------------------------------------------------------------------------------

    async def _refresh_token(self, form: Mapping[str, str], credentials: ClientCredentials) -> TokenResponse:
        token = form.get("refresh_token")
        if not token:
            raise InvalidRequest("refresh_token is required")
        client, record = await self._live_refresh_token(token, credentials)
        scopes = _narrowed(parse_scopes(record.scope), form.get("scope"))
        if not await self._store.consume_refresh_token(token):  # lost a race: someone else rotated it
            await self._store.revoke_family(record.family)
            raise InvalidGrant("refresh token was already used; its token family is revoked")
        user = await self._user(record.username)
        refresh = await self._store.issue_refresh_token(
            family=record.family,
            client_id=client.client_id,
            username=user.username,
            scope=record.scope,  # RFC 6749 6: the new refresh token keeps the original grant
            context=record.context,
            offline=record.offline,
            expires_at=self._auth.refresh_expiry() if record.offline else record.expires_at,
            session_key=record.session_key,
        )
        patient = _patient(user, record.context)
        access = await self._user_token(
            client, user, scopes, record.context, patient, record.family, record.session_key
        )
        id_token = self._id_token(user, client, scopes, None)
        return TokenResponse(access, scopes, refresh, id_token, record.context, self.style_url)

    async def _live_refresh_token(self, token: str, credentials: ClientCredentials) -> tuple[Client, RefreshRecord]:
        """The refresh token's record and client, if the caller may use it now; reuse revokes its family."""
        client = await self._clients.authenticate(credentials)
        record = await self._store.find_refresh_token(token)
        if record is None:
            raise InvalidGrant("unknown refresh token")
        if client is None:  # a public client may omit client_id: the token names its client
            client = await self._store.client(record.client_id)
            if client is None or client.confidential:
                raise InvalidClient("this client must authenticate")
        if client.client_id != record.client_id:
            raise InvalidGrant("refresh token was issued to another client")
        if record.used:
            await self._store.revoke_family(record.family)
            raise InvalidGrant("refresh token was already used; its token family is revoked")
        if record.revoked or record.expires_at <= self._auth.clock():
            raise InvalidGrant("refresh token is no longer valid")
        if not record.session_alive:
            raise InvalidGrant("the login session of this online_access token has ended")
        return client, record

    # -- client_credentials ----------------------------------------------------------------------------

    async def _client_credentials(self, form: Mapping[str, str], credentials: ClientCredentials) -> TokenResponse:
        client = await self._clients.authenticate(credentials)
        if client is None:
            raise InvalidClient("client authentication is required")
        if client.kind is not ClientKind.ASYMMETRIC or credentials.assertion is None:
            raise UnauthorizedClient("client_credentials needs a backend-services client using private_key_jwt")
        requested = form.get("scope")
        if not requested:
            raise InvalidScope("scope is required")
        scopes = parse_scopes(requested)
        if scopes.named or scopes.contexts() != {ScopeContext.SYSTEM}:
            raise InvalidScope("backend services may ask for system/ scopes only")
        granted = scopes.within(parse_scopes(client.scope))
        if not granted:
            raise InvalidScope("none of the requested scopes is allowed for this client")
        lifetime = min(BACKEND_TOKEN_LIFETIME, self._auth.access_lifetime)
        access = await self._auth.issue_access_token(
            subject=client.client_id, client_id=client.client_id, scopes=granted, lifetime=lifetime
        )
        return TokenResponse(access, granted)

    # -- shared ----------------------------------------------------------------------------------------

    async def _user(self, username: str) -> User:
        user = await self._store.user(username)
        if user is None:
            raise InvalidGrant("the user of this grant no longer exists")
        return user

    async def _user_token(
        self,
        client: Client,
        user: User,
        scopes: ScopeSet,
        context: LaunchContext,
        patient: str | None,
        family: str,
        session_key: str | None,
    ) -> IssuedToken:
        return await self._auth.issue_access_token(
            subject=user.username,
            client_id=client.client_id,
            scopes=scopes,
            patient=patient,
            encounter=context.encounter,
            fhir_user=user.fhir_user,
            role=user.role,
            family=family,
            session_key=session_key,
        )

    def _id_token(self, user: User, client: Client, scopes: ScopeSet, nonce: str | None) -> str | None:
        if "openid" not in scopes:
            return None
        return self._auth.id_tokens.issue(user, client_id=client.client_id, nonce=nonce, profile="profile" in scopes)


def _patient(user: User, context: LaunchContext) -> str | None:
    """The token's patient: the launch's, and for a patient user never anyone but themselves."""
    if user.patient_id is not None and context.patient not in (None, user.patient_id):
        raise InvalidGrant("a patient user can only be granted access to their own record")
    return context.patient or user.patient_id


def _narrowed(granted: ScopeSet, requested: str | None) -> ScopeSet:
    """RFC 6749 6: the refreshed token may have fewer scopes than granted, never others."""
    if requested is None:
        return granted
    scopes = parse_scopes(requested)
    if not scopes or scopes.within(granted) != scopes:
        raise InvalidScope("a refresh may only narrow the scopes originally granted")
    return scopes
