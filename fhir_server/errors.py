"""Typed errors raised inside the server.

They carry a FHIR IssueType code and a message a person can act on, never an HTTP status: the mapping to
status codes lives in one table at the HTTP edge (`fhir_server.api.outcomes`).
"""

from __future__ import annotations


class FhirError(Exception):
    """Base class: `code` is a FHIR IssueType (http://hl7.org/fhir/issue-type)."""

    code = "exception"
    severity = "error"

    def __init__(self, message: str, *, expression: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.expression = expression or []


class InvalidRequest(FhirError):
    """Malformed request: bad JSON, bad parameter syntax, wrong resource type in the body."""

    code = "invalid"


class InvalidResource(FhirError):
    """The resource does not conform to FHIR R4 (structure or cardinality)."""

    code = "structure"


class NotFound(FhirError):
    code = "not-found"


class UnknownResourceType(FhirError):
    code = "not-supported"


class Gone(FhirError):
    """The resource existed and was deleted; history is kept."""

    code = "deleted"


class VersionConflict(FhirError):
    """The client's `If-Match` names a version that is no longer current."""

    code = "conflict"


class Conflict(FhirError):
    """A concurrent write or a uniqueness rule prevents the operation."""

    code = "conflict"


class MultipleMatches(FhirError):
    """A conditional operation's criteria matched more than one resource."""

    code = "multiple-matches"


class BusinessRule(FhirError):
    """Well-formed and valid, but refused by a rule of the server (e.g. a reference to nothing)."""

    code = "business-rule"


class NotSupported(FhirError):
    code = "not-supported"


class MethodNotAllowed(FhirError):
    code = "not-supported"


class NotAcceptable(FhirError):
    """The client asked for a format we do not produce (XML)."""

    code = "not-supported"


class UnsupportedMediaType(FhirError):
    code = "not-supported"


class PreconditionFailed(FhirError):
    code = "conflict"
