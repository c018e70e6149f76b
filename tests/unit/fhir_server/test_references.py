"""The reference walker behind referential integrity, conditional references and urn:uuid rewriting."""

from __future__ import annotations

from fhir_server.services.references import conditional_references, local_references, rewrite_references

OBSERVATION = {
    "resourceType": "Observation",
    "subject": {"reference": "Patient/p1"},
    "performer": [{"reference": "Practitioner/d1/_history/2"}, {"reference": "#contained"}],
    "focus": [{"reference": "http://other.example/fhir/Patient/9"}, {"reference": "Patient?identifier=a|1"}],
    "derivedFrom": [{"reference": "urn:uuid:0f4a"}],
    "note": [{"text": "reference in prose is not a reference"}],
}


def test_local_references_are_relative_type_and_id_only() -> None:
    assert local_references(OBSERVATION) == {("Patient", "p1"), ("Practitioner", "d1")}


def test_conditional_references_are_the_ones_with_criteria() -> None:
    assert conditional_references(OBSERVATION) == {"Patient?identifier=a|1"}


def test_rewrite_replaces_mapped_references_and_copies_the_rest() -> None:
    rewritten = rewrite_references(OBSERVATION, {"urn:uuid:0f4a": "Observation/new"})
    assert rewritten["derivedFrom"] == [{"reference": "Observation/new"}]
    assert rewritten["subject"] == {"reference": "Patient/p1"}
    assert OBSERVATION["derivedFrom"] == [{"reference": "urn:uuid:0f4a"}]  # the input is left untouched
