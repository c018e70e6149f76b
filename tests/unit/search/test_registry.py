"""The registry reflects the official R4 SearchParameter definitions."""

from __future__ import annotations

from fhir_server.search.registry import narrow_expression, patient_compartment, split_union


def test_registry_knows_every_r4_resource_type_with_parameters(registry):
    types = registry.resource_types()
    assert {"Patient", "Observation", "MedicationRequest", "QuestionnaireResponse"} <= set(types)
    assert len(types) >= 130


def test_multi_base_expression_is_narrowed_to_the_type(registry):
    param = registry.get("Observation", "patient")
    assert param.type == "reference"
    assert param.expression == "Observation.subject.where(resolve() is Patient)"


def test_resource_level_parameters_apply_to_every_type(registry):
    observation = registry.for_type("Observation")
    for code in ("_id", "_lastUpdated", "_tag", "_profile", "_security"):
        assert code in observation
    assert registry.get(None, "_tag").type == "token"
    assert registry.get(None, "code") is None


def test_special_parameters_are_skipped(registry):
    assert registry.get("Location", "near") is None


def test_composite_components_name_their_parameters(registry):
    param = registry.get("Observation", "code-value-quantity")
    assert param.components == (("code", "code"), ("value-quantity", "value.as(Quantity)"))


def test_split_union_ignores_pipes_inside_parentheses_and_strings():
    assert split_union("A.b | (A.c as X) | A.d.where(x='a|b')") == ["A.b", "(A.c as X)", "A.d.where(x='a|b')"]


def test_narrow_expression_drops_other_types():
    assert narrow_expression("Account.subject | Observation.subject", "Observation") == "Observation.subject"
    assert narrow_expression("Account.subject", "Observation") is None


def test_patient_compartment_lists_inclusion_parameters():
    compartment = patient_compartment()
    assert compartment["Observation"] == ("subject", "performer")
    assert compartment["Patient"] == ("link",)
    assert "Practitioner" not in compartment
