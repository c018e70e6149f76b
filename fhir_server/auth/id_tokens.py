"""OpenID Connect ID tokens for `openid` grants: RS256, because OIDC makes it the algorithm every client knows.

The ID token tells the app who signed in (`sub`, `fhirUser`, and `name` when `profile` was granted); it is
addressed to the client (`aud` = client_id), never to the FHIR server, and its header `typ` is `JWT`, so
the resource server (which requires `at+jwt`) can never take it for an access token.

https://openid.net/specs/openid-connect-core-1_0.html#IDToken
https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#scopes-for-requesting-identity-data
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from jose import jwt

from fhir_server.auth.clock import Clock, utc_now
from fhir_server.auth.keys import KeyRing
from fhir_server.auth.records import User

ID_TOKEN_ALGORITHM = "RS256"


class IdTokenIssuer:
    """Signs ID tokens for one issuer (the FHIR base URL, as for access tokens)."""

    def __init__(
        self, keys: KeyRing, *, issuer: str, clock: Clock = utc_now, lifetime: timedelta = timedelta(hours=1)
    ) -> None:
        self._keys = keys
        self.issuer = issuer
        self._clock = clock
        self._lifetime = lifetime

    def issue(self, user: User, *, client_id: str, nonce: str | None = None, profile: bool = False) -> str:
        now = self._clock().replace(microsecond=0)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": user.username,
            "aud": client_id,
            "iat": int(now.timestamp()),
            "exp": int((now + self._lifetime).timestamp()),
        }
        if nonce is not None:
            claims["nonce"] = nonce
        if user.fhir_user is not None:
            claims["fhirUser"] = self._absolute(user.fhir_user)
        if profile:
            claims["name"] = user.display_name
        key = self._keys.active(ID_TOKEN_ALGORITHM)
        headers = {"kid": key.kid, "typ": "JWT"}
        return jwt.encode(claims, key.private_pem.decode("ascii"), algorithm=ID_TOKEN_ALGORITHM, headers=headers)

    def _absolute(self, reference: str) -> str:
        """SMART: `fhirUser` is a resource URL; relative references are resolved against our FHIR base."""
        if "://" in reference:
            return reference
        return f"{self.issuer}/{reference}"
