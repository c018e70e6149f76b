"""What the rest of the server tells the audit trail: one `AuditRecord` per auditable event.

A record is plain data about who did what to which patient's data, from where, with what outcome. It is
cheap to build on the request path; turning it into a FHIR AuditEvent (`fhir_server.audit.events`) and a
table row happens once, in the trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

ACTIONS = frozenset("CRUDE")


class AuditKind(StrEnum):
    """What happened: a FHIR REST interaction, a user login, an OAuth token event, or a security alert."""

    REST = "rest"
    LOGIN = "login"
    TOKEN = "token"
    SECURITY = "security"


class AuditOutcome(StrEnum):
    """AuditEvent.outcome (http://hl7.org/fhir/audit-event-outcome)."""

    SUCCESS = "0"
    MINOR_FAILURE = "4"
    SERIOUS_FAILURE = "8"
    MAJOR_FAILURE = "12"


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One auditable event, as the server saw it.

    `interaction` is a FHIR restful-interaction code (read, vread, history-instance, history-type,
    history-system, search-type, search-system, create, update, patch, delete, batch, transaction, operation)
    for REST records, and login, authorize, token, introspect or revoke for the others. `subject` is the user
    name, or the client id for backend services; `patients` are the Patient ids whose data was touched and
    `entities` the "Type/id" (or "Type/id/_history/v") references touched; `query` is the query string.
    """

    kind: AuditKind
    action: str
    interaction: str
    outcome: AuditOutcome
    outcome_detail: str | None = None
    client_id: str | None = None
    subject: str | None = None
    fhir_user: str | None = None
    role: str | None = None
    patients: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    query: str | None = None
    source_ip: str | None = None
    recorded: datetime | None = None

    def __post_init__(self) -> None:
        # Caught at the call site, in the caller's test, rather than as an invalid AuditEvent much later.
        if self.action not in ACTIONS:
            raise ValueError(f"AuditRecord.action must be one of C R U D E, not {self.action!r}")
        if not self.interaction:
            raise ValueError("AuditRecord.interaction must name the interaction")
        for entity in self.entities:
            if "/" not in entity:
                raise ValueError(f"AuditRecord.entities holds 'Type/id' references, not {entity!r}")
        if self.recorded is not None and self.recorded.tzinfo is None:
            raise ValueError("AuditRecord.recorded must be timezone-aware")

    def references(self) -> tuple[str, ...]:
        """Every resource the event is about, as "Type/id" without version, in first-seen order.

        These are what `patient=` and `entity=` searches match, so a versioned reference is also found by
        its plain form.
        """
        refs = [f"Patient/{patient}" for patient in self.patients]
        refs.extend(_unversioned(entity) for entity in self.entities)
        return tuple(dict.fromkeys(refs))


def _unversioned(reference: str) -> str:
    return reference.split("/_history/", 1)[0]
