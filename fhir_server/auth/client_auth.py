"""Who is calling the token, introspection and revocation endpoints: client authentication (RFC 6749 2.3).

The methods, by client kind (SMART App Launch 2.2):
- public: `client_id` only (the authorization code is bound to it and to the PKCE verifier);
- symmetric: `client_secret_basic` (HTTP Basic) or `client_secret_post` (form `client_secret`);
- asymmetric: `private_key_jwt` (`client_assertion_type` + `client_assertion`, see `client_assertion`).

A client registered as confidential must use its method; presenting only its `client_id` is refused, as is
a secret for an asymmetric client or an assertion for a symmetric one. Using two methods at once is
`invalid_request` (RFC 6749 2.3: one method per request). Secrets are always checked with the same cost,
whether or not the client exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fhir_server.auth.client_assertion import ClientAssertionVerifier, RegisteredClient
from fhir_server.auth.errors import InvalidClient, InvalidRequest
from fhir_server.auth.records import Client, ClientKind
from fhir_server.auth.store import AuthStore


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """What a request offered to identify its client (the edge fills it from the header and the form)."""

    basic: tuple[str, str] | None = field(default=None, repr=False)  # decoded HTTP Basic (id, secret)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    assertion_type: str | None = None
    assertion: str | None = field(default=None, repr=False)

    @property
    def offered(self) -> bool:
        return any(v is not None for v in (self.basic, self.client_id, self.client_secret, self.assertion_type))


class ClientAuthenticator:
    def __init__(self, store: AuthStore, assertions: ClientAssertionVerifier) -> None:
        self._store = store
        self._assertions = assertions

    async def authenticate(self, credentials: ClientCredentials) -> Client | None:
        """The authenticated (or, for public clients, identified) client; None when nothing was offered."""
        methods = [
            credentials.basic is not None,
            credentials.client_secret is not None,
            credentials.assertion_type is not None or credentials.assertion is not None,
        ]
        if sum(methods) > 1:
            raise InvalidRequest("use exactly one client authentication method")
        if credentials.basic is not None:
            client_id, secret = credentials.basic
            if credentials.client_id is not None and credentials.client_id != client_id:
                raise InvalidRequest("client_id does not match the Authorization header")
            return await self._by_secret(client_id, secret)
        if credentials.client_secret is not None:
            if not credentials.client_id:
                raise InvalidRequest("client_secret needs a client_id")
            return await self._by_secret(credentials.client_id, credentials.client_secret)
        if methods[2]:
            return await self._by_assertion(credentials)
        if credentials.client_id is None:
            return None
        return await self._public(credentials.client_id)

    async def _by_secret(self, client_id: str, secret: str) -> Client:
        verified = await self._store.verify_client_secret(client_id, secret)
        client = await self._store.client(client_id) if verified else None
        if client is None or client.kind is not ClientKind.SYMMETRIC:
            raise InvalidClient("client authentication failed")
        return client

    async def _by_assertion(self, credentials: ClientCredentials) -> Client:
        verified = await self._assertions.verify(
            client_assertion_type=credentials.assertion_type,
            client_assertion=credentials.assertion,
            lookup_client=self._registered_keys,
            client_id=credentials.client_id,
        )
        client = await self._store.client(verified.client_id)
        if client is None:  # deleted between verification and now
            raise InvalidClient("unknown client")
        return client

    async def _registered_keys(self, client_id: str) -> RegisteredClient | None:
        client = await self._store.client(client_id)
        if client is None or client.kind is not ClientKind.ASYMMETRIC:
            return None
        return RegisteredClient(client.client_id, client.jwks, client.jwks_uri)

    async def _public(self, client_id: str) -> Client:
        client = await self._store.client(client_id)
        if client is None:
            raise InvalidClient("unknown client")
        if client.confidential:
            raise InvalidClient("this client must authenticate (client_id alone is not enough)")
        return client
