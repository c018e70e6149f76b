"""Validation of an authorization request (RFC 6749 section 4.1.1 with PKCE and SMART App Launch 2.2).

Validation runs in two stages because the failures must be reported differently:

1. `resolve_redirect_uri`: the client and the redirect URI. Until both are known good, nothing may be sent to
   the redirect URI (an open redirector), so these failures raise `UnsafeRequestError`, shown as a page.
2. `validate`: everything else; failures are `OAuthError`s that are redirected back to the client with
   `error`, `error_description` and the request's `state`.

`PendingAuthorization` is the validated request carried across the login, patient-picker and consent pages.
It travels as a signed, expiring hidden field rather than as a server-side row because the authorization
request is the client's to repeat, not ours to keep: a user who abandons the flow leaves nothing behind, any
API process can continue it, and the signature (see `fhir_server.auth.csrf.SignedCodec`) stops the browser
from editing the scopes, patient or redirect URI it carries. The EHR launch handle is redeemed once, when the
request first arrives (handles are single use), and its context then rides in the signed pending request.

https://hl7.org/fhir/smart-app-launch/app-launch.html#obtain-authorization-code
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from fhir_server.auth.errors import InvalidRequest, InvalidScope, OAuthError
from fhir_server.auth.records import LaunchContext
from fhir_server.auth.scopes import ScopeSet, parse_scopes

# base64url of a SHA-256 digest, unpadded (RFC 7636 section 4.2).
_S256_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
PENDING_SECONDS = 600


class UnsafeRequestError(Exception):
    """The client or redirect URI is unknown or unregistered: show an error page, never redirect."""


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


class AccessDenied(OAuthError):
    error = "access_denied"


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """A request that passed every check; `scopes` are already cut to what the client may be granted."""

    client_id: str
    redirect_uri: str
    state: str
    scopes: ScopeSet
    code_challenge: str
    launch: str | None = None
    nonce: str | None = None


def collect(pairs: Iterable[tuple[str, str]]) -> tuple[dict[str, str], frozenset[str]]:
    """The parameters (first value of each) and the names given more than once (RFC 6749 section 3.1)."""
    params: dict[str, str] = {}
    repeated: set[str] = set()
    for name, value in pairs:
        if name in params:
            repeated.add(name)
        else:
            params[name] = value
    return params, frozenset(repeated)


def resolve_redirect_uri(params: Mapping[str, str], repeated: frozenset[str], registered: Iterable[str] | None) -> str:
    """The redirect URI to answer at: the given one if registered exactly, or the client's only one.

    `registered` is None when `client_id` names no registered client.
    """
    if not params.get("client_id") or "client_id" in repeated:
        raise UnsafeRequestError("The request does not name its client (client_id).")
    if registered is None:
        raise UnsafeRequestError("The client_id is not registered with this server.")
    uris = tuple(registered)
    if "redirect_uri" in repeated:
        raise UnsafeRequestError("The redirect_uri parameter is given more than once.")
    given = params.get("redirect_uri")
    if given is None:
        if len(uris) == 1:
            return uris[0]
        raise UnsafeRequestError("The request has no redirect_uri and the client has more than one registered.")
    if given not in uris:
        raise UnsafeRequestError("The redirect_uri is not registered for this client.")
    return given


def validate(
    params: Mapping[str, str],
    repeated: frozenset[str],
    *,
    redirect_uri: str,
    client_scope: str,
    audience: str,
) -> AuthorizationRequest:
    """Every check after the client and redirect URI; raises the `OAuthError` to redirect back with."""
    if repeated:
        raise InvalidRequest(f"Parameters given more than once: {', '.join(sorted(repeated))}.")
    state = params.get("state")
    if not state:
        raise InvalidRequest("The state parameter is required.")
    response_type = params.get("response_type")
    if not response_type:
        raise InvalidRequest("The response_type parameter is required.")
    if response_type != "code":
        raise UnsupportedResponseType("Only response_type=code is supported.")
    _check_audience(params.get("aud"), audience)
    challenge = _check_pkce(params)
    scopes = _granted_scopes(params.get("scope"), client_scope)
    launch = params.get("launch") or None
    if "launch" in scopes and launch is None:
        raise InvalidRequest("The launch scope needs the launch parameter from the EHR.")
    return AuthorizationRequest(
        client_id=params["client_id"],
        redirect_uri=redirect_uri,
        state=state,
        scopes=scopes,
        code_challenge=challenge,
        launch=launch,
        nonce=params.get("nonce") or None,
    )


def _check_audience(aud: str | None, audience: str) -> None:
    # A trailing slash is the one spelling difference clients commonly introduce; anything else is another server.
    if not aud:
        raise InvalidRequest("The aud parameter (this server's FHIR base URL) is required.")
    if aud.rstrip("/") != audience.rstrip("/"):
        raise InvalidRequest("The aud parameter is not this server's FHIR base URL.")


def _check_pkce(params: Mapping[str, str]) -> str:
    method = params.get("code_challenge_method")
    challenge = params.get("code_challenge")
    if not challenge:
        raise InvalidRequest("PKCE is required: send code_challenge and code_challenge_method=S256.")
    if method != "S256":
        raise InvalidRequest("PKCE code_challenge_method must be S256 (plain is not accepted).")
    if not _S256_CHALLENGE.match(challenge):
        raise InvalidRequest("The code_challenge must be the base64url SHA-256 of the verifier (43 characters).")
    return challenge


def _granted_scopes(requested: str | None, client_scope: str) -> ScopeSet:
    if not requested or not requested.split():
        raise InvalidScope("The scope parameter is required.")
    scopes = parse_scopes(requested).within(parse_scopes(client_scope))
    if not scopes:
        raise InvalidScope("None of the requested scopes is allowed for this client.")
    return scopes


@dataclass(frozen=True, slots=True)
class PendingAuthorization:
    """A validated request on its way through the pages; `username` is set once we know who is approving.

    `launch_user` is the user an EHR launch was minted for (None when not bound); `context` is the launch
    context so far (the patient is filled in by the patient's own record or the picker).
    """

    request: AuthorizationRequest
    context: LaunchContext
    expires_at: int
    launch_user: str | None = None
    username: str | None = None

    @classmethod
    def start(
        cls, request: AuthorizationRequest, context: LaunchContext, launch_user: str | None, *, now: float
    ) -> PendingAuthorization:
        return cls(request, context, int(now) + PENDING_SECONDS, launch_user)

    def for_user(self, username: str) -> PendingAuthorization:
        return replace(self, username=username)

    def with_patient(self, patient: str) -> PendingAuthorization:
        return replace(self, context=replace(self.context, patient=patient))

    @property
    def needs_patient(self) -> bool:
        """Standalone `launch/patient` with no patient chosen yet."""
        return "launch/patient" in self.request.scopes and self.context.patient is None

    def to_json(self) -> dict[str, Any]:
        r = self.request
        return {
            "client_id": r.client_id,
            "redirect_uri": r.redirect_uri,
            "state": r.state,
            "scope": r.scopes.to_string(),
            "code_challenge": r.code_challenge,
            "launch": r.launch,
            "nonce": r.nonce,
            "context": self.context.to_json(),
            "expires_at": self.expires_at,
            "launch_user": self.launch_user,
            "username": self.username,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, now: float | None = None) -> PendingAuthorization:
        """Rebuild a pending request we signed; raises `ExpiredPendingError` once its time is up."""
        if int(data["expires_at"]) < (time.time() if now is None else now):
            raise ExpiredPendingError("This sign-in took too long; go back to the app and start again.")
        request = AuthorizationRequest(
            client_id=data["client_id"],
            redirect_uri=data["redirect_uri"],
            state=data["state"],
            scopes=parse_scopes(data["scope"]),
            code_challenge=data["code_challenge"],
            launch=data.get("launch"),
            nonce=data.get("nonce"),
        )
        return cls(
            request,
            LaunchContext.from_json(data["context"]),
            int(data["expires_at"]),
            data.get("launch_user"),
            data.get("username"),
        )


class ExpiredPendingError(Exception):
    """The pending authorization outlived `PENDING_SECONDS`; the app must send the user again."""
