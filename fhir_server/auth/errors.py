"""Typed authorization failures, in two families that are rendered differently at the edge.

```
FhirError (fhir_server.errors)              rendered as an OperationOutcome by the FHIR API
├── InvalidToken          IssueType `login`     RFC 6750 `invalid_token`      (401 + WWW-Authenticate)
└── InsufficientScope     IssueType `forbidden` RFC 6750 `insufficient_scope` (403, or 404 to hide existence)

OAuthError (Exception)                      rendered as an RFC 6749 section 5.2 JSON error by /auth/*
├── InvalidRequest        `invalid_request`
├── InvalidClient         `invalid_client`
├── InvalidGrant          `invalid_grant`
├── InvalidScope          `invalid_scope`   (also raised by the scope parser)
├── UnauthorizedClient    `unauthorized_client`
└── UnsupportedGrantType  `unsupported_grant_type`

KeyStoreError (Exception)                   the signing-key directory is unusable; a start-up failure
```

`OAuthError` deliberately does not inherit `FhirError`: token-endpoint failures must never reach the
OperationOutcome funnel, and FHIR API failures must never be rendered as OAuth JSON. Like `FhirError`, none
of these carries an HTTP status; the status tables live at the edge.
"""

from __future__ import annotations

from typing import ClassVar

from fhir_server.errors import FhirError


class InvalidToken(FhirError):
    """The bearer token is missing, malformed, badly signed, expired, revoked or not meant for us."""

    code = "login"
    bearer_error: ClassVar[str] = "invalid_token"


class InsufficientScope(FhirError):
    """The token is valid but its scopes (or the user's role) do not allow this interaction."""

    code = "forbidden"
    bearer_error: ClassVar[str] = "insufficient_scope"


class OAuthError(Exception):
    """An RFC 6749 error: `error` is the registered code, `description` is safe to show the client."""

    error: ClassVar[str] = "invalid_request"

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description

    def to_json(self) -> dict[str, str]:
        """The body of the error response (RFC 6749 section 5.2)."""
        return {"error": self.error, "error_description": self.description}


class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidClient(OAuthError):
    error = "invalid_client"


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class KeyStoreError(Exception):
    """The signing-key directory cannot be read or written safely (e.g. a key file readable by others)."""
