"""AuditEvent search parameters: what is accepted, and that anything else is refused rather than ignored."""

from __future__ import annotations

import pytest

from fhir_server.audit.search import parse_query
from fhir_server.errors import InvalidRequest

BASE = "http://127.0.0.1:8080/fhir"


def parse(*pairs: tuple[str, str]):
    return parse_query(pairs, base_url=BASE, default_count=20, max_count=100)


def test_each_supported_parameter_becomes_one_condition() -> None:
    query = parse(
        ("patient", "p1"),
        ("entity", "Observation/o1"),
        ("agent", "Practitioner/x"),
        ("agent:identifier", "app"),
        ("altid", "dr.rivera"),
        ("date", "ge2026-01-01"),
        ("action", "R,E"),
        ("outcome", "0"),
        ("type", "rest"),
        ("subtype", "http://hl7.org/fhir/restful-interaction|read"),
        ("_id", "3"),
    )
    assert len(query.conditions) == 11


def test_an_unknown_parameter_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="does not support 'code'"):
        parse(("code", "x"))


def test_count_is_capped_and_format_is_ignored() -> None:
    query = parse(("_count", "5000"), ("_format", "json"))
    assert query.count == 100
    assert query.conditions == ()


@pytest.mark.parametrize("value", ["yesterday", "ne2026-01-01", "ge"])
def test_a_malformed_date_is_refused(value: str) -> None:
    with pytest.raises(InvalidRequest, match="date"):
        parse(("date", value))


def test_patient_must_name_a_patient() -> None:
    with pytest.raises(InvalidRequest, match="Patient"):
        parse(("patient", "Observation/o1"))


def test_count_must_be_an_integer() -> None:
    with pytest.raises(InvalidRequest, match="_count"):
        parse(("_count", "ten"))


def test_the_capability_entry_lists_exactly_the_supported_parameters_and_no_writes() -> None:
    from fhir_server.audit.search import _BUILDERS, capability_resource

    entry = capability_resource()
    assert {p["name"] for p in entry["searchParam"]} == {n for n in _BUILDERS if ":" not in n}
    assert {i["code"] for i in entry["interaction"]}.isdisjoint({"create", "update", "patch", "delete"})
