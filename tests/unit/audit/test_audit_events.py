"""AuditEvent JSON built from audit records: valid FHIR R4 and shaped after IHE BALP."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import orjson
import pytest
from fhir.resources.R4B.auditevent import AuditEvent

from fhir_server.audit.events import (
    DCM,
    ENTITY_TYPE,
    RESTFUL_INTERACTION,
    build_event,
    event_json,
    with_id,
)
from fhir_server.audit.records import AuditKind, AuditOutcome, AuditRecord

BASE = "http://127.0.0.1:8080/fhir"
WHEN = datetime(2026, 11, 26, 4, 0, 0, 123456, tzinfo=UTC)

CLINICIAN_READ = AuditRecord(
    kind=AuditKind.REST,
    action="R",
    interaction="read",
    outcome=AuditOutcome.SUCCESS,
    client_id="growth-chart",
    subject="dr.rivera",
    fhir_user="Practitioner/p1",
    role="psychiatrist",
    patients=("pat-1",),
    entities=("Observation/o1/_history/2",),
    source_ip="10.0.0.7",
)
EXAMPLES = {
    AuditKind.REST: CLINICIAN_READ,
    AuditKind.LOGIN: AuditRecord(
        kind=AuditKind.LOGIN,
        action="E",
        interaction="login",
        outcome=AuditOutcome.MINOR_FAILURE,
        outcome_detail="wrong password",
        subject="dr.rivera",
        source_ip="10.0.0.7",
    ),
    AuditKind.TOKEN: AuditRecord(
        kind=AuditKind.TOKEN,
        action="E",
        interaction="token",
        outcome=AuditOutcome.SUCCESS,
        client_id="bulk-exporter",
        subject="bulk-exporter",
        source_ip="2001:db8::1",
    ),
    AuditKind.SECURITY: AuditRecord(
        kind=AuditKind.SECURITY,
        action="E",
        interaction="refresh-token-reuse",
        outcome=AuditOutcome.SERIOUS_FAILURE,
        outcome_detail="a rotated refresh token was presented again; its family was revoked",
        client_id="growth-chart",
        patients=("pat-1", "pat-2"),
        query="_id=a,b&patient=pat-2",
    ),
}


@pytest.mark.parametrize("kind", list(AuditKind))
def test_every_kind_builds_a_valid_r4_audit_event(kind: AuditKind) -> None:
    content = with_id(event_json(EXAMPLES[kind], base_url=BASE, recorded=WHEN), 42)
    event = AuditEvent.model_validate_json(content)
    assert event.id == "42"


def test_a_rest_event_is_typed_rest_with_the_interaction_as_subtype() -> None:
    event = build_event(CLINICIAN_READ, base_url=BASE, recorded=WHEN)
    assert event["type"]["code"] == "rest"
    assert event["subtype"] == [{"system": RESTFUL_INTERACTION, "code": "read"}]
    assert (event["action"], event["outcome"]) == ("R", "0")
    assert event["recorded"] == "2026-11-26T04:00:00.123456Z"


def test_login_and_token_events_are_user_authentication_and_alerts_are_security_alerts() -> None:
    login, token, alert = (build_event(EXAMPLES[k], base_url=BASE, recorded=WHEN) for k in list(AuditKind)[1:])
    assert (login["type"]["system"], login["type"]["code"]) == (DCM, "110114")
    assert login["subtype"][0]["code"] == "110122"
    assert token["subtype"][0]["code"] == "ITI-71"
    assert (alert["type"]["system"], alert["type"]["code"]) == (DCM, "110113")
    assert login["outcomeDesc"] == "wrong password"


def test_the_user_is_the_requestor_with_fhir_user_name_and_role() -> None:
    agents = build_event(CLINICIAN_READ, base_url=BASE, recorded=WHEN)["agent"]
    user = next(a for a in agents if a["requestor"])
    assert user["who"]["reference"] == "Practitioner/p1"
    assert user["altId"] == "dr.rivera"
    assert user["role"][0]["text"] == "psychiatrist"


def test_the_client_application_carries_its_id_and_the_source_ip() -> None:
    agents = build_event(CLINICIAN_READ, base_url=BASE, recorded=WHEN)["agent"]
    client = next(a for a in agents if a["type"]["coding"][0]["code"] == "110153")
    assert client["who"]["identifier"]["value"] == "growth-chart"
    assert client["network"] == {"address": "10.0.0.7", "type": "2"}
    assert client["requestor"] is False


def test_a_backend_service_client_is_itself_the_requestor() -> None:
    agents = build_event(EXAMPLES[AuditKind.TOKEN], base_url=BASE, recorded=WHEN)["agent"]
    requestors = [a for a in agents if a["requestor"]]
    assert len(requestors) == 1
    assert requestors[0]["who"]["identifier"]["value"] == "bulk-exporter"


def test_this_server_is_the_observer() -> None:
    event = build_event(CLINICIAN_READ, base_url=BASE, recorded=WHEN)
    assert event["source"]["observer"]["identifier"]["value"] == BASE


def test_patients_are_person_entities_with_the_patient_role() -> None:
    entities = build_event(EXAMPLES[AuditKind.SECURITY], base_url=BASE, recorded=WHEN)["entity"]
    patients = [e for e in entities if e["role"]["code"] == "1"]
    assert [e["what"]["reference"] for e in patients] == ["Patient/pat-1", "Patient/pat-2"]
    assert all(e["type"] == {"system": ENTITY_TYPE, "code": "1", "display": "Person"} for e in patients)


def test_touched_resources_are_system_object_entities_keeping_their_version() -> None:
    entities = build_event(CLINICIAN_READ, base_url=BASE, recorded=WHEN)["entity"]
    objects = [e for e in entities if e["type"]["code"] == "2"]
    assert [e["what"]["reference"] for e in objects] == ["Observation/o1/_history/2"]


def test_the_query_is_an_entity_holding_the_query_string_in_base64() -> None:
    entities = build_event(EXAMPLES[AuditKind.SECURITY], base_url=BASE, recorded=WHEN)["entity"]
    query = next(e for e in entities if e["role"]["code"] == "24")
    assert base64.b64decode(query["query"]).decode() == "_id=a,b&patient=pat-2"


def test_with_id_inserts_the_id_without_changing_anything_else() -> None:
    content = event_json(CLINICIAN_READ, base_url=BASE, recorded=WHEN)
    served = orjson.loads(with_id(content, 7))
    assert served.pop("id") == "7"
    assert served == orjson.loads(content)


def test_records_refuse_an_action_outside_crude() -> None:
    with pytest.raises(ValueError, match="action"):
        AuditRecord(kind=AuditKind.REST, action="X", interaction="read", outcome=AuditOutcome.SUCCESS)


def test_records_refuse_an_entity_that_is_not_a_reference() -> None:
    with pytest.raises(ValueError, match="Type/id"):
        AuditRecord(kind=AuditKind.REST, action="R", interaction="read", outcome=AuditOutcome.SUCCESS, entities=("o1",))


def test_references_list_patients_and_unversioned_entities_once() -> None:
    record = AuditRecord(
        kind=AuditKind.REST,
        action="R",
        interaction="vread",
        outcome=AuditOutcome.SUCCESS,
        patients=("p1",),
        entities=("Patient/p1", "Observation/o1/_history/3", "Observation/o1"),
    )
    assert record.references() == ("Patient/p1", "Observation/o1")


def test_a_refused_fhir_interaction_keeps_its_restful_subtype() -> None:
    refused = AuditRecord(kind=AuditKind.SECURITY, action="R", interaction="read", outcome=AuditOutcome.MINOR_FAILURE)
    event = build_event(refused, base_url=BASE, recorded=WHEN)
    assert event["type"]["code"] == "110113"
    assert event["subtype"] == [{"system": RESTFUL_INTERACTION, "code": "read"}]
