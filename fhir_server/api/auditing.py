"""What the FHIR API tells the audit trail (HIPAA 164.312(b)): every access to patient data, and every refusal.

Reads and searches are recorded through the trail's buffered writer once the response body is rendered: the
record names the resources served and the patients whose data they hold. Changes are recorded inside the
unit of work that makes them (`before_commit`), so a change and its audit record commit together or not at
all. Refused or failed requests are recorded from the error handler, after the failed unit rolled back.

Which patients a response touches is read off the bytes being served: the Patient resources themselves and
every `Patient/<id>` reference inside the others. That over-approximates the compartment slightly (a
Practitioner's resource that mentions a patient counts), which is the right way to err for an audit trail.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable

from fastapi import Request

from fhir_server.api.deps import services
from fhir_server.api.security import RequestAccess
from fhir_server.audit.records import AuditKind, AuditOutcome, AuditRecord
from fhir_server.audit.trail import AuditTrail
from fhir_server.auth.errors import InsufficientScope, InvalidToken
from fhir_server.errors import FhirError
from fhir_server.storage.repository import StoredResource, UnitOfWork

_PATIENT_REFERENCE = re.compile(rb'"reference":"(?:[^"]*/)?Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^"]*)?"')
_FULL_URL = re.compile(rb'"fullUrl":"[^"]*?/([A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64})"')
_FHIR_PATH = re.compile(r"^/fhir(?:/(?P<rest>.*))?$")


def interaction_of(request: Request) -> tuple[str, str]:
    """(restful-interaction code, AuditEvent action) for a FHIR API request, from its method and path."""
    match = _FHIR_PATH.match(request.url.path)
    parts = [p for p in ((match and match["rest"]) or "").split("/") if p]
    method = request.method
    if any(p.startswith("$") for p in parts):
        return "operation", "E"
    if method == "POST" and not parts:
        return "batch", "E"
    if method == "POST" and parts[-1] == "_search":
        return "search-type", "R"
    if method == "POST":
        return "create", "C"
    if method == "PUT":
        return "update", "U"
    if method == "PATCH":
        return "patch", "U"
    if method == "DELETE":
        return "delete", "D"
    if not parts or parts == ["_history"]:
        return ("history-system" if parts else "search-system"), "R"
    if "_history" in parts:
        index = parts.index("_history")
        if index + 1 < len(parts):
            return "vread", "R"
        return ("history-instance" if index == 2 else "history-type"), "R"
    return ("read" if len(parts) == 2 else "search-type"), "R"


def patients_in(content: bytes | None, *, resource: str | None = None) -> set[str]:
    """Patient ids a served body touches: referenced patients, and `resource` itself when it is a Patient."""
    found = {m.decode() for m in _PATIENT_REFERENCE.findall(content or b"")}
    if resource and resource.startswith("Patient/"):
        found.add(resource.split("/")[1])
    return found


def audit_served(
    request: Request, access: RequestAccess, body: bytes, *, resource: StoredResource | None = None
) -> None:
    """Record a successful read-type interaction whose response `body` is about to be sent."""
    interaction, action = interaction_of(request)
    if resource is not None:
        entity = f"{resource.res_type}/{resource.res_id}"
        entities = [f"{entity}/_history/{resource.version}"]
        patients = patients_in(body, resource=entity)
    else:
        entities = [m.decode() for m in _FULL_URL.findall(body)]
        patients = patients_in(body) | {e.split("/", 1)[1] for e in entities if e.startswith("Patient/")}
    _trail(request).record(_record(request, access, interaction, action, AuditOutcome.SUCCESS, entities, patients))


def audit_writes(
    request: Request, access: RequestAccess, interaction: str | None = None
) -> Callable[[UnitOfWork], Awaitable[None]]:
    """A `before_commit` hook recording what the unit wrote, in the unit's own transaction."""
    derived, action = interaction_of(request)
    interaction = interaction or derived

    async def record(uow: UnitOfWork) -> None:
        written = uow.written
        entities = [f"{s.res_type}/{s.res_id}/_history/{s.version}" for s in written]
        patients: set[str] = set()
        for s in written:
            patients |= patients_in(s.content, resource=f"{s.res_type}/{s.res_id}")
        if not written:
            return  # nothing changed (idempotent delete, conditional create that matched, a batch read)
        await _trail(request).record_in(
            uow.conn, _record(request, access, interaction, action, AuditOutcome.SUCCESS, entities, patients)
        )

    return record


def audit_failure(request: Request, error: FhirError, status: int) -> None:
    """Record a refused or failed FHIR request (after its unit of work, if any, rolled back)."""
    if not _FHIR_PATH.match(request.url.path) or request.url.path.endswith("/metadata"):
        return
    access = getattr(request.state, "access", None)
    known = access if isinstance(access, RequestAccess) else None  # None: refused before a token was accepted
    interaction, action = interaction_of(request)
    security = isinstance(error, InvalidToken | InsufficientScope)
    outcome = AuditOutcome.SERIOUS_FAILURE if status >= 500 else AuditOutcome.MINOR_FAILURE
    record = AuditRecord(
        kind=AuditKind.SECURITY if security else AuditKind.REST,
        action=action,
        interaction=interaction,
        outcome=outcome,
        outcome_detail=f"{status}: {error.message}"[:1000],
        client_id=known.client_id if known else None,
        subject=known.subject if known else None,
        fhir_user=known.fhir_user if known else None,
        role=known.role if known else None,
        patients=(known.patient,) if known and known.patient else (),
        query=request.url.query or None,
        source_ip=request.client.host if request.client else None,
    )
    _trail(request).record(record)


def _record(
    request: Request,
    access: RequestAccess,
    interaction: str,
    action: str,
    outcome: AuditOutcome,
    entities: Iterable[str],
    patients: Iterable[str],
) -> AuditRecord:
    touched = set(patients)
    if access.patient:
        touched.add(access.patient)
    return AuditRecord(
        kind=AuditKind.REST,
        action=action,
        interaction=interaction,
        outcome=outcome,
        client_id=access.client_id,
        subject=access.subject,
        fhir_user=access.fhir_user,
        role=access.role,
        patients=tuple(sorted(touched)),
        entities=tuple(dict.fromkeys(entities)),
        query=request.url.query or None,
        source_ip=access.source_ip,
    )


def _trail(request: Request) -> AuditTrail:
    return services(request).audit
