"""Issue and verify NovaMind access tokens: JWTs signed with the `KeyRing`, checked strictly on the way in.

Verification never trusts the token to choose how it is checked: the algorithm must be RS384 or ES384
(so `none`, `HS256` keyed with a public key, and the like are refused before any cryptography), the key is
looked up by the header's `kid` among our own still-verifying keys (unknown `kid` -> `InvalidToken`), the
header's `alg` must be that key's algorithm, and the decode is given that single algorithm explicitly. The
claims `iss`, `aud`, `sub`, `exp`, `iat`, `jti`, `client_id` and `scope` are required; times are checked
against the injected clock (python-jose reads the system clock, so its own time checks are turned off and
redone here). The header `typ` must be `at+jwt` (RFC 9068), so an ID token or client assertion signed by a
key we trust cannot pass as an access token.

Revocation is not decided here: the caller checks `jti` against the revocation store after `verify`.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from jose import jwk, jwt
from jose.backends.base import Key
from jose.exceptions import JWTError

from fhir_server.auth.clock import Clock, utc_now
from fhir_server.auth.errors import InvalidToken
from fhir_server.auth.keys import KeyRing, SigningKey
from fhir_server.auth.policy import AccessPolicy, build_policy
from fhir_server.auth.roles import Role
from fhir_server.auth.scopes import ScopeSet, parse_scopes

ACCESS_TOKEN_TYPE = "at+jwt"
ACCESS_TOKEN_ALGORITHMS = ("RS384", "ES384")
_REQUIRED_STRINGS = ("iss", "sub", "jti", "client_id", "scope")
_DECODE_OPTIONS = {
    "verify_signature": True,
    "verify_aud": True,
    "verify_iss": True,
    "require_aud": True,
    "require_iss": True,
    "require_sub": True,
    "require_jti": True,
    # jose checks these against the system clock; they are checked below against the injected clock.
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_at_hash": False,
}


@dataclass(frozen=True, slots=True)
class AccessTokenClaims:
    """The verified content of an access token. `sub` is the user, or the client for backend services."""

    iss: str
    aud: str
    sub: str
    client_id: str
    scope: str
    jti: str
    issued_at: datetime
    expires_at: datetime
    patient: str | None = None
    encounter: str | None = None
    fhir_user: str | None = None
    role: Role | None = None

    @property
    def scopes(self) -> ScopeSet:
        return parse_scopes(self.scope)

    def policy(self) -> AccessPolicy:
        """The access policy this token grants (see `fhir_server.auth.policy.build_policy`)."""
        return build_policy(self.scopes, patient=self.patient, role=self.role)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    claims: AccessTokenClaims

    @property
    def expires_in(self) -> int:
        return int((self.claims.expires_at - self.claims.issued_at).total_seconds())


class AccessTokenService:
    """Signs and verifies access tokens for one issuer and one audience (the FHIR base URL)."""

    def __init__(
        self,
        keys: KeyRing,
        *,
        issuer: str,
        audience: str,
        clock: Clock = utc_now,
        lifetime: timedelta = timedelta(hours=1),
        algorithm: str = "RS384",
        leeway: timedelta = timedelta(seconds=30),
    ) -> None:
        if algorithm not in ACCESS_TOKEN_ALGORITHMS:
            raise ValueError(f"unsupported signing algorithm {algorithm!r}")
        self._keys = keys
        self.issuer = issuer
        self.audience = audience
        self._clock = clock
        self._lifetime = lifetime
        self._algorithm = algorithm
        self._leeway = leeway
        # python-jose rebuilds a key object from the JWK on every decode (a third of the cost of a verify);
        # a kid names one immutable key (its thumbprint), so the object is built once per kid.
        self._verifiers: dict[str, Key] = {}

    def issue(
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
    ) -> IssuedToken:
        now = self._clock().replace(microsecond=0)
        claims = AccessTokenClaims(
            iss=self.issuer,
            aud=self.audience,
            sub=subject,
            client_id=client_id,
            scope=scopes.to_v2_string(),
            jti=secrets.token_urlsafe(24),
            issued_at=now,
            expires_at=now + (lifetime or self._lifetime),
            patient=patient,
            encounter=encounter,
            fhir_user=fhir_user,
            role=role,
        )
        key = self._keys.active(self._algorithm)
        headers = {"kid": key.kid, "typ": ACCESS_TOKEN_TYPE}
        token = jwt.encode(_to_jwt(claims), key.private_pem.decode("ascii"), algorithm=key.alg, headers=headers)
        return IssuedToken(token, claims)

    def verify(self, token: str) -> AccessTokenClaims:
        """The claims of a token we issued and that is valid now; `InvalidToken` otherwise."""
        header = _header(token)
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ACCESS_TOKEN_ALGORITHMS:
            raise InvalidToken(f"token algorithm {alg!r} is not accepted")
        if header.get("typ") != ACCESS_TOKEN_TYPE:
            raise InvalidToken("not an access token (typ must be at+jwt)")
        key = self._keys.verification_key(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidToken("token signed with an unknown or retired key")
        if key.alg != alg:
            raise InvalidToken("token algorithm does not match its key")
        try:
            payload = jwt.decode(
                token,
                self._verifier(key),
                algorithms=[key.alg],
                audience=self.audience,
                issuer=self.issuer,
                options=dict(_DECODE_OPTIONS),
            )
        except JWTError as exc:
            raise InvalidToken(f"token rejected: {exc}") from exc
        return self._claims(payload)

    def _verifier(self, key: SigningKey) -> Key:
        verifier = self._verifiers.get(key.kid)
        if verifier is None:
            verifier = self._verifiers[key.kid] = jwk.construct(dict(key.public_jwk), key.alg)
        return verifier

    def _claims(self, payload: Mapping[str, Any]) -> AccessTokenClaims:
        for name in _REQUIRED_STRINGS:
            if not isinstance(payload.get(name), str) or not payload[name]:
                raise InvalidToken(f"token claim {name!r} is missing or not a string")
        now = self._clock()
        expires_at = _instant(payload, "exp")
        issued_at = _instant(payload, "iat")
        if now >= expires_at:
            raise InvalidToken("token has expired")
        if issued_at > now + self._leeway:
            raise InvalidToken("token was issued in the future")
        if "nbf" in payload and _instant(payload, "nbf") > now + self._leeway:
            raise InvalidToken("token is not valid yet")
        role = payload.get("role")
        try:
            return AccessTokenClaims(
                iss=payload["iss"],
                aud=self.audience,
                sub=payload["sub"],
                client_id=payload["client_id"],
                scope=payload["scope"],
                jti=payload["jti"],
                issued_at=issued_at,
                expires_at=expires_at,
                patient=_optional_str(payload, "patient"),
                encounter=_optional_str(payload, "encounter"),
                fhir_user=_optional_str(payload, "fhirUser"),
                role=Role(role) if role is not None else None,
            )
        except ValueError as exc:
            raise InvalidToken(f"token claims are malformed: {exc}") from exc


def _to_jwt(claims: AccessTokenClaims) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "iss": claims.iss,
        "aud": claims.aud,
        "sub": claims.sub,
        "client_id": claims.client_id,
        "scope": claims.scope,
        "jti": claims.jti,
        "iat": int(claims.issued_at.timestamp()),
        "exp": int(claims.expires_at.timestamp()),
    }
    optional = {
        "patient": claims.patient,
        "encounter": claims.encounter,
        "fhirUser": claims.fhir_user,
        "role": claims.role.value if claims.role else None,
    }
    payload.update({k: v for k, v in optional.items() if v is not None})
    return payload


def _header(token: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except JWTError as exc:
        raise InvalidToken("token is not a well-formed JWT") from exc
    if not isinstance(header, dict):
        raise InvalidToken("token header is not a JSON object")
    return header


def _instant(payload: Mapping[str, Any], name: str) -> datetime:
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidToken(f"token claim {name!r} is missing or not a NumericDate")
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise InvalidToken(f"token claim {name!r} is out of range") from exc


def _optional_str(payload: Mapping[str, Any], name: str) -> str | None:
    value = payload.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidToken(f"token claim {name!r} is not a string")
    return value
