"""What each clinician role may do, before any scope narrows it: a NovaMind product decision, not a standard.

SMART says `user/` scopes grant at most what the signed-in user could do anyway; these tables say what that
is for our four clinician roles (the roles of the design documents). The effective permission of a
`user/` scope is its intersection with the role's grants (see `fhir_server.auth.policy`).

The choices, so that review can argue with them:
- psychiatrist: full clinical authority, every interaction on every type.
- nurse practitioner: everything except delete (deletion is a prescriber's or an admin's correction).
- clinical admin: demographics, scheduling, organisations, devices and clients, plus read access to the
  audit trail (compliance review); no clinical observations, conditions or medications.
- researcher: read and search of clinical and twin-result data; no writes, no demographics or contact data.

A role's wildcard (`*`) never includes `AUDIT_RESOURCE_TYPES`: audit records are reachable only through a
grant that names `AuditEvent` explicitly, and never through `patient/` scopes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

WILDCARD = "*"

# Types that only an explicit grant may reach (a `*` scope or role grant never does).
AUDIT_RESOURCE_TYPES = frozenset({"AuditEvent"})


class Role(StrEnum):
    PSYCHIATRIST = "psychiatrist"
    NURSE_PRACTITIONER = "nurse_practitioner"
    CLINICAL_ADMIN = "clinical_admin"
    RESEARCHER = "researcher"


@dataclass(frozen=True, slots=True)
class RoleGrant:
    """The role may use `letters` (a subset of `cruds`) on `resource_type` (or every type, for `*`)."""

    resource_type: str
    letters: frozenset[str]


def _grants(letters: str, *types: str) -> tuple[RoleGrant, ...]:
    return tuple(RoleGrant(t, frozenset(letters)) for t in types)


_ADMIN_TYPES = (
    "Patient",
    "RelatedPerson",
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "Location",
    "HealthcareService",
    "Endpoint",
    "Encounter",
    "EpisodeOfCare",
    "Appointment",
    "AppointmentResponse",
    "Schedule",
    "Slot",
    "Coverage",
    "Device",
    "Consent",
)

_RESEARCH_TYPES = (
    "Observation",
    "Condition",
    "MedicationStatement",
    "MedicationRequest",
    "MedicationKnowledge",
    "Medication",
    "RiskAssessment",
    "QuestionnaireResponse",
    "Questionnaire",
    "Device",
    "Provenance",
    "List",
)

ROLE_GRANTS: Mapping[Role, tuple[RoleGrant, ...]] = MappingProxyType(
    {
        Role.PSYCHIATRIST: _grants("cruds", WILDCARD),
        Role.NURSE_PRACTITIONER: _grants("crus", WILDCARD),
        Role.CLINICAL_ADMIN: _grants("cruds", *_ADMIN_TYPES) + _grants("rs", "AuditEvent"),
        Role.RESEARCHER: _grants("rs", *_RESEARCH_TYPES),
    }
)


def role_grants(role: Role) -> tuple[RoleGrant, ...]:
    return ROLE_GRANTS[role]
