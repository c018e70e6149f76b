"""SMART on FHIR 2.2 authorization foundations: pure, storage-free building blocks.

- `scopes`: the SMART scope grammar (v1 and v2, granular `?param=value` scopes, launch/identity scopes).
- `roles`: our product's permission sets for clinician roles, intersected with `user/` scopes.
- `policy`: granted scopes + launch context -> `AccessPolicy` (may this token do X on T, under which
  filters, inside which patient compartment).
- `keys`: the server's signing keys (RS384, ES384) on disk, with `kid` thumbprints, rotation and a JWKS.
- `tokens`: issuing and verifying our own access tokens (JWT).
- `client_assertion`: verifying SMART Backend Services `private_key_jwt` client assertions.
- `errors`: the typed failures; resource-server ones are `FhirError`s, token-endpoint ones are
  RFC 6749 `OAuthError`s.

Nothing here touches HTTP or the database; the HTTP edge and the token endpoint compose these pieces.
"""
