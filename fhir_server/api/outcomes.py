"""FhirError -> (HTTP status, OperationOutcome). The only table of status codes in the server."""

from __future__ import annotations

from typing import Any

from fhir_server import errors as e
from fhir_server.auth.errors import InsufficientScope, InvalidToken

STATUS_BY_ERROR: tuple[tuple[type[e.FhirError], int], ...] = (
    (InvalidToken, 401),
    (InsufficientScope, 403),
    (e.UnknownResourceType, 404),
    (e.NotFound, 404),
    (e.Gone, 410),
    (e.VersionConflict, 412),
    (e.PreconditionFailed, 412),
    (e.MultipleMatches, 412),
    (e.Conflict, 409),
    (e.MethodNotAllowed, 405),
    (e.NotAcceptable, 406),
    (e.UnsupportedMediaType, 415),
    (e.BusinessRule, 422),
    (e.NotSupported, 400),
    (e.InvalidResource, 400),
    (e.InvalidRequest, 400),
)


def status_for(error: e.FhirError) -> int:
    inner = getattr(error, "inner", None)  # an error wrapped with its Bundle entry keeps the inner status
    if isinstance(inner, e.FhirError):
        return status_for(inner)
    for cls, status in STATUS_BY_ERROR:
        if isinstance(error, cls):
            return status
    return 500


def operation_outcome(
    severity: str, code: str, diagnostics: str, expression: list[str] | None = None
) -> dict[str, Any]:
    issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        issue["expression"] = expression
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def outcome_for(error: e.FhirError) -> dict[str, Any]:
    return operation_outcome(error.severity, error.code, error.message, error.expression)


def informational(message: str) -> dict[str, Any]:
    return operation_outcome("information", "informational", message)


def status_line(status: int) -> str:
    """Bundle `entry.response.status` text, e.g. '201 Created'."""
    from http import HTTPStatus

    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def entry_response(error: e.FhirError) -> dict[str, Any]:
    """A failed batch entry's `response`: status line plus the OperationOutcome."""
    return {"status": status_line(status_for(error)), "outcome": outcome_for(error)}


def challenge_for(error: e.FhirError) -> dict[str, str]:
    """RFC 6750 section 3: a 401 or 403 from the FHIR API tells the client which bearer error it was."""
    inner = getattr(error, "inner", None)
    if isinstance(inner, e.FhirError):
        return challenge_for(inner)
    if isinstance(error, InvalidToken | InsufficientScope):
        description = error.message.replace('"', "'")
        return {"WWW-Authenticate": f'Bearer error="{error.bearer_error}", error_description="{description}"'}
    return {}
