"""`AuditRecord` -> FHIR R4 AuditEvent JSON, following IHE Basic Audit Log Patterns (BALP).

The JSON is built once, when the event is written, and served byte for byte afterwards: it is never
re-validated on the read path (a test validates what we build against fhir.resources R4B, for every kind).
The stored bytes carry no `id`; the row's key is the id, and `with_id` splices it in when serving, so the
content can be built before the row exists.

Shape (https://profiles.ihe.net/ITI/BALP/):
- type: `rest` (audit-event-type) for FHIR interactions; DICOM 110114 User Authentication for logins and
  OAuth token events; DICOM 110113 Security Alert for security events.
- subtype: the restful-interaction code; DICOM 110122 Login; IHE ITI-71 Get Access Token and ITI-102
  Introspect Token; our own code system for the rest of the OAuth endpoints and for security alerts.
- agents: the user (requestor, with fhirUser reference, name and role) when there is one; the client
  application (DICOM 110153 Source Role ID, identified by client_id, with the source IP as its network
  address; requestor when no user is involved, as for backend services); this server (110152 Destination
  Role ID).
- source: this server as observer (security-source-type 4, Application Server).
- entities: each patient (type 1 Person, role 1 Patient), each other resource touched (type 2 System
  Object, role 4 Domain Resource), and the query (role 24 Query, base64 of the query string).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import orjson

from fhir_server.audit.records import AuditKind, AuditRecord

AUDIT_EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
IHE_EVENT_TYPE = "urn:ihe:event-type-code"
RESTFUL_INTERACTION = "http://hl7.org/fhir/restful-interaction"
# Codes we define ourselves, where neither FHIR, DICOM nor IHE has one (authorize, revoke, security alerts).
NOVAMIND_AUDIT_SUBTYPE = "http://novamind.example.org/fhir/CodeSystem/audit-subtype"
NOVAMIND_ROLE = "http://novamind.example.org/fhir/CodeSystem/user-role"
EXTRA_SECURITY_ROLE = "http://terminology.hl7.org/CodeSystem/extra-security-role-type"
SECURITY_SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"

SERVER_NAME = "NovaMind Twin FHIR server"

_TYPES: dict[AuditKind, dict[str, str]] = {
    AuditKind.REST: {"system": AUDIT_EVENT_TYPE, "code": "rest", "display": "Restful Operation"},
    AuditKind.LOGIN: {"system": DCM, "code": "110114", "display": "User Authentication"},
    AuditKind.TOKEN: {"system": DCM, "code": "110114", "display": "User Authentication"},
    AuditKind.SECURITY: {"system": DCM, "code": "110113", "display": "Security Alert"},
}

_KNOWN_SUBTYPES: dict[str, dict[str, str]] = {
    "login": {"system": DCM, "code": "110122", "display": "Login"},
    "logout": {"system": DCM, "code": "110123", "display": "Logout"},
    "token": {"system": IHE_EVENT_TYPE, "code": "ITI-71", "display": "Get Access Token"},
    "introspect": {"system": IHE_EVENT_TYPE, "code": "ITI-102", "display": "Introspect Token"},
}


def type_coding(kind: AuditKind) -> dict[str, str]:
    return _TYPES[kind]


# http://hl7.org/fhir/R4/codesystem-restful-interaction.html
RESTFUL_INTERACTIONS = frozenset(
    {
        "read",
        "vread",
        "update",
        "patch",
        "delete",
        "history",
        "history-instance",
        "history-type",
        "history-system",
        "create",
        "search",
        "search-type",
        "search-system",
        "capabilities",
        "transaction",
        "batch",
        "operation",
    }
)


def subtype_coding(record: AuditRecord) -> dict[str, str]:
    """A refused FHIR read is a security event whose subtype is still the restful interaction `read`."""
    if record.kind is AuditKind.REST or record.interaction in RESTFUL_INTERACTIONS:
        return {"system": RESTFUL_INTERACTION, "code": record.interaction}
    known = _KNOWN_SUBTYPES.get(record.interaction)
    if known is not None:
        return known
    return {"system": NOVAMIND_AUDIT_SUBTYPE, "code": record.interaction}


def subtype_system(code: str) -> str:
    """The system of a stored subtype code (the column keeps the code only)."""
    if code in RESTFUL_INTERACTIONS:
        return RESTFUL_INTERACTION
    for coding in _KNOWN_SUBTYPES.values():
        if coding["code"] == code:
            return coding["system"]
    return NOVAMIND_AUDIT_SUBTYPE


def build_event(record: AuditRecord, *, base_url: str, recorded: datetime) -> dict[str, Any]:
    """The AuditEvent (without `id`) for `record`, recorded at `recorded`."""
    event: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "type": type_coding(record.kind),
        "subtype": [subtype_coding(record)],
        "action": record.action,
        "recorded": to_instant(recorded),
        "outcome": record.outcome.value,
    }
    if record.outcome_detail:
        event["outcomeDesc"] = record.outcome_detail
    event["agent"] = _agents(record, base_url)
    event["source"] = {
        "observer": {"display": SERVER_NAME, "identifier": {"value": base_url}},
        "type": [{"system": SECURITY_SOURCE_TYPE, "code": "4", "display": "Application Server"}],
    }
    entities = _entities(record)
    if entities:
        event["entity"] = entities
    return event


def event_json(record: AuditRecord, *, base_url: str, recorded: datetime) -> bytes:
    return orjson.dumps(build_event(record, base_url=base_url, recorded=recorded))


_PREFIX = b'{"resourceType":"AuditEvent",'


def with_id(content: bytes, event_id: int | str) -> bytes:
    """The stored JSON with `"id"` inserted right after `resourceType`, without parsing it."""
    if not content.startswith(_PREFIX):
        raise ValueError("stored AuditEvent JSON does not start with its resourceType")
    return _PREFIX + b'"id":' + orjson.dumps(str(event_id)) + b"," + content[len(_PREFIX) :]


def to_instant(moment: datetime) -> str:
    """A FHIR instant in UTC with microseconds, so events recorded within one millisecond stay ordered."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _agents(record: AuditRecord, base_url: str) -> list[dict[str, Any]]:
    has_user = bool(record.fhir_user) or (record.subject is not None and record.subject != record.client_id)
    agents: list[dict[str, Any]] = []
    if has_user:
        agents.append(_user_agent(record))
    client: dict[str, Any] = {
        "type": {"coding": [{"system": DCM, "code": "110153", "display": "Source Role ID"}]},
        "requestor": not has_user,
    }
    if record.client_id:
        client["who"] = {"identifier": {"value": record.client_id}, "display": record.client_id}
    if record.source_ip:
        client["network"] = {"address": record.source_ip, "type": "2"}
    agents.append(client)
    agents.append(
        {
            "type": {"coding": [{"system": DCM, "code": "110152", "display": "Destination Role ID"}]},
            "who": {"display": SERVER_NAME, "identifier": {"value": base_url}},
            "requestor": False,
            "network": {"address": base_url, "type": "5"},
        }
    )
    return agents


def _user_agent(record: AuditRecord) -> dict[str, Any]:
    who: dict[str, Any] = {}
    if record.fhir_user:
        who["reference"] = record.fhir_user
    if record.subject:
        who["display"] = record.subject
    user: dict[str, Any] = {
        "type": {"coding": [{"system": EXTRA_SECURITY_ROLE, "code": "humanuser", "display": "human user"}]},
        "who": who,
        "requestor": True,
    }
    if record.subject:
        user["altId"] = record.subject
        user["name"] = record.subject
    if record.role:
        user["role"] = [{"coding": [{"system": NOVAMIND_ROLE, "code": record.role}], "text": record.role}]
    return user


def _entities(record: AuditRecord) -> list[dict[str, Any]]:
    entities: list[dict[str, Any]] = [
        {
            "what": {"reference": f"Patient/{patient}"},
            "type": {"system": ENTITY_TYPE, "code": "1", "display": "Person"},
            "role": {"system": OBJECT_ROLE, "code": "1", "display": "Patient"},
        }
        for patient in dict.fromkeys(record.patients)
    ]
    patients = {f"Patient/{patient}" for patient in record.patients}
    entities.extend(
        {
            "what": {"reference": entity},
            "type": {"system": ENTITY_TYPE, "code": "2", "display": "System Object"},
            "role": {"system": OBJECT_ROLE, "code": "4", "display": "Domain Resource"},
        }
        for entity in dict.fromkeys(record.entities)
        if entity not in patients
    )
    if record.query:
        entities.append(
            {
                "type": {"system": ENTITY_TYPE, "code": "2", "display": "System Object"},
                "role": {"system": OBJECT_ROLE, "code": "24", "display": "Query"},
                "query": base64.b64encode(record.query.encode()).decode("ascii"),
            }
        )
    return entities
