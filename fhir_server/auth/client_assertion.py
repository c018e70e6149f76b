"""Verify SMART Backend Services client assertions (`private_key_jwt`, RFC 7523) at the token endpoint.

What is checked, in order, each failure an `OAuthError` with its RFC 6749 code:
1. `client_assertion_type` is `urn:ietf:params:oauth:client-assertion-type:jwt-bearer` and an assertion is
   present (missing -> `invalid_request`, another type -> `invalid_client`: an unsupported authentication
   method).
2. The header's `alg` is RS384 or ES384 (so never `none` or an HMAC keyed with a public key), it names a
   `kid`, and its `typ`, when sent, is `JWT` (so our own `at+jwt` access tokens are never mistaken for one).
3. `iss == sub == client_id` (and equals a `client_id` form parameter when one was sent), for a registered
   client.
4. The key set: a `jku` header is honoured only when it equals the client's registered JWKS URL (any other
   `jku` is refused, never fetched); without `jku`, the registered JWKS and then the registered JWKS URL.
   Exactly one key must have the header's `kid` and a type that fits `alg` (RSA of at least 2048 bits, or EC
   P-384); none or several is a failure, as the key-resolution algorithm of the specification says.
5. Signature, with that one algorithm; `aud` equals the token endpoint URL.
6. `exp` is present, not passed, and at most five minutes ahead; `nbf`/`iat`, when present, not ahead.
7. `jti` has not been seen for this client: recorded in the injected `JtiStore` only after everything else
   passed, so a forged assertion cannot burn a legitimate client's `jti`.

SMART says any failure in client authentication is an `invalid_client` error.

https://hl7.org/fhir/smart-app-launch/client-confidential-asymmetric.html
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from jose import jwt
from jose.exceptions import JWTError

from fhir_server.auth.clock import Clock, utc_now
from fhir_server.auth.errors import InvalidClient, InvalidRequest

JWT_BEARER_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGORITHMS = ("RS384", "ES384")
MAX_ASSERTION_LIFETIME = timedelta(minutes=5)
MAX_ASSERTION_LENGTH = 16_384
MIN_RSA_BITS = 2048
_KEY_TYPE_FOR_ALG = {"RS384": "RSA", "ES384": "EC"}


class JtiStore(Protocol):
    """Remembers client-assertion `jti`s until they expire; `use` must be atomic (check-and-insert)."""

    async def use(self, client_id: str, jti: str, expires_at: datetime) -> bool:
        """Record `jti` for `client_id`; False when it was already recorded (a replay)."""
        ...


JwksFetcher = Callable[[str], Awaitable[Mapping[str, Any]]]


@dataclass(frozen=True, slots=True)
class RegisteredClient:
    """What the verifier needs of a registered asymmetric client: its JWKS, its JWKS URL, or both."""

    client_id: str
    jwks: Mapping[str, Any] | None = field(default=None, repr=False)
    jwks_uri: str | None = None


ClientLookup = Callable[[str], Awaitable[RegisteredClient | None]]


@dataclass(frozen=True, slots=True)
class VerifiedClientAssertion:
    client_id: str
    jti: str
    kid: str
    alg: str
    expires_at: datetime


class ClientAssertionVerifier:
    """Authenticates clients by `private_key_jwt` for one token endpoint URL."""

    def __init__(
        self,
        *,
        token_endpoint: str,
        jti_store: JtiStore,
        fetch_jwks: JwksFetcher,
        clock: Clock = utc_now,
        leeway: timedelta = timedelta(seconds=30),
    ) -> None:
        self.token_endpoint = token_endpoint
        self._jti_store = jti_store
        self._fetch_jwks = fetch_jwks
        self._clock = clock
        self._leeway = leeway

    async def verify(
        self,
        *,
        client_assertion_type: str | None,
        client_assertion: str | None,
        lookup_client: ClientLookup,
        client_id: str | None = None,
    ) -> VerifiedClientAssertion:
        """Authenticate the client that sent the form parameters; raises an `OAuthError` on any failure."""
        assertion = _check_form(client_assertion_type, client_assertion)
        alg, kid, jku = _check_header(assertion)
        claimed = _claimed_client(assertion, client_id)
        client = await lookup_client(claimed)
        if client is None:
            raise InvalidClient("unknown client")
        jwk = await self._key(client, jku, kid, alg)
        try:
            payload = jwt.decode(
                assertion,
                dict(jwk),
                algorithms=[alg],
                audience=self.token_endpoint,
                issuer=client.client_id,
                subject=client.client_id,
                options={
                    "require_aud": True,
                    "require_iss": True,
                    "require_sub": True,
                    "require_jti": True,
                    "verify_exp": False,  # checked below against the injected clock
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_at_hash": False,
                },
            )
        except JWTError as exc:
            raise InvalidClient(f"client assertion rejected: {exc}") from exc
        expires_at = self._check_times(payload)
        jti = payload.get("jti")
        if not isinstance(jti, str) or not jti:
            raise InvalidClient("client assertion jti must be a non-empty string")
        if not await self._jti_store.use(client.client_id, jti, expires_at):
            raise InvalidClient("client assertion jti was already used")
        return VerifiedClientAssertion(client.client_id, jti, kid, alg, expires_at)

    async def _key(self, client: RegisteredClient, jku: str | None, kid: str, alg: str) -> Mapping[str, Any]:
        if jku is not None:
            if client.jwks_uri is None or jku != client.jwks_uri:
                raise InvalidClient("jku does not match the client's registered JWKS URL")
            return _select_key(await self._fetch(jku), kid, alg)
        if client.jwks is None and client.jwks_uri is None:
            raise InvalidClient("client has no registered keys")
        candidates = _candidates(client.jwks, kid, alg) if client.jwks is not None else []
        if not candidates and client.jwks_uri is not None:
            return _select_key(await self._fetch(client.jwks_uri), kid, alg)
        return _only(candidates)

    async def _fetch(self, url: str) -> Mapping[str, Any]:
        try:
            return await self._fetch_jwks(url)
        except Exception as exc:  # the fetcher's failure modes (network, JSON) are all "cannot authenticate"
            raise InvalidClient("could not retrieve the client's JWKS") from exc

    def _check_times(self, payload: Mapping[str, Any]) -> datetime:
        now = self._clock()
        expires_at = _instant(payload, "exp")
        if expires_at is None:
            raise InvalidClient("client assertion has no exp")
        if now >= expires_at:
            raise InvalidClient("client assertion has expired")
        if expires_at > now + MAX_ASSERTION_LIFETIME:
            raise InvalidClient("client assertion exp is more than five minutes in the future")
        for name in ("nbf", "iat"):
            instant = _instant(payload, name)
            if instant is not None and instant > now + self._leeway:
                raise InvalidClient(f"client assertion {name} is in the future")
        return expires_at


def _check_form(client_assertion_type: str | None, client_assertion: str | None) -> str:
    if not client_assertion_type or not client_assertion:
        raise InvalidRequest("client_assertion_type and client_assertion are required")
    if client_assertion_type != JWT_BEARER_ASSERTION_TYPE:
        raise InvalidClient(f"unsupported client_assertion_type; expected {JWT_BEARER_ASSERTION_TYPE}")
    if len(client_assertion) > MAX_ASSERTION_LENGTH:
        raise InvalidRequest("client_assertion is too long")
    return client_assertion


def _check_header(assertion: str) -> tuple[str, str, str | None]:
    try:
        header = jwt.get_unverified_header(assertion)
    except JWTError as exc:
        raise InvalidClient("client assertion is not a well-formed JWT") from exc
    alg, kid, jku = header.get("alg"), header.get("kid"), header.get("jku")
    if alg not in ASSERTION_ALGORITHMS:
        raise InvalidClient(f"client assertion algorithm {alg!r} is not accepted (RS384 or ES384)")
    if not isinstance(kid, str) or not kid:
        raise InvalidClient("client assertion header has no kid")
    if header.get("typ", "JWT") != "JWT":
        raise InvalidClient("client assertion typ must be JWT")
    if jku is not None and not isinstance(jku, str):
        raise InvalidClient("client assertion jku is not a URL")
    return alg, kid, jku


def _claimed_client(assertion: str, form_client_id: str | None) -> str:
    try:
        claims = jwt.get_unverified_claims(assertion)
    except JWTError as exc:
        raise InvalidClient("client assertion claims are not a JSON object") from exc
    iss, sub = claims.get("iss"), claims.get("sub")
    if not isinstance(iss, str) or not iss or iss != sub:
        raise InvalidClient("client assertion iss and sub must both be the client_id")
    if form_client_id is not None and form_client_id != iss:
        raise InvalidClient("client_id does not match the client assertion")
    return iss


def _select_key(jwks: Mapping[str, Any], kid: str, alg: str) -> Mapping[str, Any]:
    return _only(_candidates(jwks, kid, alg))


def _candidates(jwks: Mapping[str, Any], kid: str, alg: str) -> list[Mapping[str, Any]]:
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(keys, list):
        raise InvalidClient("the client's JWKS has no keys")
    return [jwk for jwk in keys if isinstance(jwk, Mapping) and jwk.get("kid") == kid and _fits(jwk, alg)]


def _only(candidates: list[Mapping[str, Any]]) -> Mapping[str, Any]:
    if len(candidates) != 1:
        found = "no" if not candidates else "more than one"
        raise InvalidClient(f"{found} registered key matches the assertion's kid and alg")
    return candidates[0]


def _fits(jwk: Mapping[str, Any], alg: str) -> bool:
    """Whether a public JWK may verify `alg`: right type and strength, no conflicting `alg`/`use`, no `d`."""
    if jwk.get("kty") != _KEY_TYPE_FOR_ALG[alg] or jwk.get("alg", alg) != alg or jwk.get("use", "sig") != "sig":
        return False
    if "d" in jwk or "k" in jwk:  # a private or symmetric key has no place in a client's public JWKS
        return False
    if alg == "ES384":
        return jwk.get("crv") == "P-384"
    modulus = jwk.get("n")
    return isinstance(modulus, str) and _b64url_len(modulus) * 8 >= MIN_RSA_BITS


def _b64url_len(value: str) -> int:
    try:
        return len(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except ValueError:
        return 0


def _instant(payload: Mapping[str, Any], name: str) -> datetime | None:
    value = payload.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidClient(f"client assertion {name} is not a NumericDate")
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise InvalidClient(f"client assertion {name} is out of range") from exc
