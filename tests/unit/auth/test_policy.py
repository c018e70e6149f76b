"""Scopes + patient context + role -> AccessPolicy decisions, per interaction and resource type."""

from __future__ import annotations

import pytest

from fhir_server.auth.errors import InsufficientScope, InvalidToken
from fhir_server.auth.policy import AccessPolicy, AccessRule, Interaction, build_policy
from fhir_server.auth.roles import ROLE_GRANTS, Role
from fhir_server.auth.scopes import parse_scopes

LAB = "http://terminology.hl7.org/CodeSystem/observation-category|laboratory"
VITALS = "http://terminology.hl7.org/CodeSystem/observation-category|vital-signs"


def policy(scopes: str, *, patient: str | None = None, role: Role | None = None) -> AccessPolicy:
    return build_policy(parse_scopes(scopes), patient=patient, role=role)


@pytest.mark.parametrize(
    ("interaction", "letters"),
    [
        (Interaction.CREATE, "c"),
        (Interaction.READ, "r"),
        (Interaction.VREAD, "r"),
        (Interaction.HISTORY_INSTANCE, "r"),
        (Interaction.UPDATE, "u"),
        (Interaction.PATCH, "u"),
        (Interaction.DELETE, "d"),
        (Interaction.SEARCH_TYPE, "s"),
        (Interaction.HISTORY_TYPE, "s"),
    ],
)
def test_each_interaction_needs_its_smart_letter(interaction: Interaction, letters: str) -> None:
    assert policy(f"system/Observation.{letters}").allows(interaction, "Observation")


@pytest.mark.parametrize(
    ("interaction", "letters"),
    [
        (Interaction.CREATE, "ruds"),
        (Interaction.READ, "cuds"),
        (Interaction.HISTORY_INSTANCE, "cuds"),
        (Interaction.UPDATE, "crds"),
        (Interaction.PATCH, "crds"),
        (Interaction.DELETE, "crus"),
        (Interaction.SEARCH_TYPE, "crud"),
        (Interaction.HISTORY_TYPE, "crud"),
    ],
)
def test_each_interaction_is_refused_without_its_letter(interaction: Interaction, letters: str) -> None:
    assert not policy(f"system/Observation.{letters}").allows(interaction, "Observation")


def test_v1_write_scope_does_not_allow_read() -> None:
    assert not policy("system/Observation.write").allows(Interaction.READ, "Observation")


def test_scope_for_one_type_does_not_reach_another() -> None:
    assert not policy("system/Observation.rs").allows(Interaction.READ, "Condition")


def test_wildcard_type_reaches_every_clinical_type() -> None:
    assert policy("system/*.rs").allows(Interaction.READ, "MedicationStatement")


def test_wildcard_type_never_reaches_audit_events() -> None:
    assert not policy("system/*.cruds").allows(Interaction.READ, "AuditEvent")


def test_explicit_system_audit_scope_reaches_audit_events() -> None:
    assert policy("system/AuditEvent.rs").allows(Interaction.SEARCH_TYPE, "AuditEvent")


def test_patient_scope_never_reaches_audit_events() -> None:
    assert not policy("patient/AuditEvent.rs", patient="p1").allows(Interaction.READ, "AuditEvent")


def test_patient_scope_confines_to_the_token_patient_compartment() -> None:
    decision = policy("patient/Observation.rs", patient="p1").require(Interaction.SEARCH_TYPE, "Observation")
    assert decision.compartment_patient == "p1"


def test_patient_scope_without_patient_context_makes_the_token_invalid() -> None:
    with pytest.raises(InvalidToken):
        policy("patient/Observation.rs")


def test_system_scope_is_not_confined_to_a_compartment() -> None:
    decision = policy("system/Observation.rs").require(Interaction.READ, "Observation")
    assert decision.compartment_patient is None
    assert decision.unrestricted


def test_granular_scope_yields_its_filters() -> None:
    decision = policy(f"patient/Observation.rs?category={LAB}", patient="p1").require(
        Interaction.SEARCH_TYPE, "Observation"
    )
    assert decision.filters == (("category", LAB),)


def test_two_granular_scopes_on_one_parameter_merge_into_an_or_value() -> None:
    scopes = f"patient/Observation.rs?category={LAB} patient/Observation.rs?category={VITALS}"
    decision = policy(scopes, patient="p1").require(Interaction.SEARCH_TYPE, "Observation")
    assert decision.filters == (("category", f"{LAB},{VITALS}"),)


def test_unrestricted_scope_absorbs_a_granular_one() -> None:
    scopes = f"patient/Observation.rs?category={LAB} patient/Observation.rs"
    decision = policy(scopes, patient="p1").require(Interaction.READ, "Observation")
    assert decision.rules == (AccessRule("p1", ()),)


def test_granular_scope_restricts_only_the_letters_it_grants() -> None:
    scopes = f"patient/Observation.rs?category={LAB} patient/Observation.c"
    assert policy(scopes, patient="p1").require(Interaction.CREATE, "Observation").filters == ()


def test_rules_that_cannot_be_anded_ask_for_a_disjunction() -> None:
    scopes = f"patient/Observation.rs?category={LAB} system/Observation.rs?code=1234-5"
    decision = policy(scopes, patient="p1").require(Interaction.SEARCH_TYPE, "Observation")
    assert decision.needs_disjunction
    with pytest.raises(ValueError, match="OR"):
        _ = decision.filters


def test_system_scope_lifts_patient_confinement_for_its_type() -> None:
    decision = policy("patient/Observation.rs system/Observation.rs", patient="p1").require(
        Interaction.READ, "Observation"
    )
    assert decision.compartment_patient is None


def test_user_scope_is_cut_down_to_the_role_permissions() -> None:
    nurse = policy("user/Observation.cruds", role=Role.NURSE_PRACTITIONER)
    assert nurse.allows(Interaction.UPDATE, "Observation")
    assert not nurse.allows(Interaction.DELETE, "Observation")


def test_user_scope_never_exceeds_the_scope_itself() -> None:
    assert not policy("user/Observation.rs", role=Role.PSYCHIATRIST).allows(Interaction.CREATE, "Observation")


def test_researcher_cannot_read_demographics_even_with_a_wildcard_scope() -> None:
    assert not policy("user/*.cruds", role=Role.RESEARCHER).allows(Interaction.READ, "Patient")


def test_researcher_cannot_write_clinical_data() -> None:
    assert not policy("user/*.cruds", role=Role.RESEARCHER).allows(Interaction.CREATE, "Observation")


def test_researcher_may_search_observations() -> None:
    assert policy("user/*.rs", role=Role.RESEARCHER).allows(Interaction.SEARCH_TYPE, "Observation")


def test_clinical_admin_cannot_read_clinical_observations() -> None:
    assert not policy("user/*.cruds", role=Role.CLINICAL_ADMIN).allows(Interaction.READ, "Observation")


def test_clinical_admin_reads_audit_events_only_with_a_scope_naming_them() -> None:
    assert not policy("user/*.rs", role=Role.CLINICAL_ADMIN).allows(Interaction.READ, "AuditEvent")
    assert policy("user/AuditEvent.rs", role=Role.CLINICAL_ADMIN).allows(Interaction.READ, "AuditEvent")


def test_psychiatrist_cannot_read_audit_events() -> None:
    assert not policy("user/AuditEvent.rs", role=Role.PSYCHIATRIST).allows(Interaction.READ, "AuditEvent")


def test_user_scope_without_a_role_grants_nothing() -> None:
    assert not policy("user/*.cruds").allows(Interaction.READ, "Observation")


def test_user_granular_scope_keeps_its_filter_after_role_intersection() -> None:
    decision = policy(f"user/Observation.rs?category={LAB}", role=Role.PSYCHIATRIST).require(
        Interaction.SEARCH_TYPE, "Observation"
    )
    assert decision.filters == (("category", LAB),)


def test_every_role_has_a_permission_table() -> None:
    assert set(ROLE_GRANTS) == set(Role)


def test_everything_operation_needs_read_and_search() -> None:
    assert policy("patient/*.rs", patient="p1").allows(Interaction.OPERATION, "Patient", operation="$everything")
    assert not policy("patient/*.r", patient="p1").allows(Interaction.OPERATION, "Patient", operation="everything")


def test_validate_operation_needs_any_grant_on_the_type() -> None:
    assert policy("system/Observation.c").allows(Interaction.OPERATION, "Observation", operation="validate")
    assert not policy("system/Condition.c").allows(Interaction.OPERATION, "Observation", operation="validate")


def test_unknown_operation_is_denied() -> None:
    assert not policy("system/*.cruds").allows(Interaction.OPERATION, "Patient", operation="$purge")


def test_require_raises_insufficient_scope_with_the_forbidden_issue_code() -> None:
    with pytest.raises(InsufficientScope) as caught:
        policy("system/Observation.rs").require(Interaction.DELETE, "Observation")
    assert caught.value.code == "forbidden"


def test_named_scopes_grant_no_resource_access() -> None:
    assert not policy("openid fhirUser launch/patient offline_access").allows(Interaction.READ, "Patient")


def test_policy_is_a_pure_function_of_its_inputs() -> None:
    assert policy("patient/*.rs", patient="p1") == policy("patient/*.rs", patient="p1")
