"""The consent page in plain language, and what the user's ticks grant."""

from __future__ import annotations

from fhir_server.auth.consent import (
    CONDITION_CATEGORY,
    OBSERVATION_CATEGORY,
    apply_choices,
    describe,
    describe_scope,
    offers_offline_access,
)
from fhir_server.auth.scopes import ResourceScope, ScopeSet, parse_scope, parse_scopes

LAB = f"{OBSERVATION_CATEGORY}|laboratory"


def _all_fields(scopes: ScopeSet) -> set[str]:
    fields: set[str] = set()
    for item in describe(scopes, patient_is_user=True):
        fields.add(item.field)
        fields.update(choice.field for choice in item.categories)
    return fields


def test_patient_read_scope_is_described_in_plain_language() -> None:
    scope = parse_scope("patient/Observation.rs")
    assert isinstance(scope, ResourceScope)
    assert describe_scope(scope, patient_is_user=True).startswith("Read and search your observations")


def test_clinician_sees_whose_data_it_is() -> None:
    scope = parse_scope("patient/Condition.read")
    assert isinstance(scope, ResourceScope)
    assert "this patient’s conditions" in describe_scope(scope, patient_is_user=False)


def test_write_scope_lists_every_verb() -> None:
    scope = parse_scope("user/MedicationRequest.cud")
    assert isinstance(scope, ResourceScope)
    assert describe_scope(scope, patient_is_user=False) == "Create, update and delete prescriptions you have access to"


def test_unknown_type_gets_a_readable_noun() -> None:
    scope = parse_scope("patient/CareTeam.r")
    assert isinstance(scope, ResourceScope)
    assert describe_scope(scope, patient_is_user=True) == "Read your care team records"


def test_query_scope_names_its_restriction() -> None:
    scope = parse_scope(f"patient/Observation.rs?category={LAB}")
    assert isinstance(scope, ResourceScope)
    assert "(only Laboratory results)" in describe_scope(scope, patient_is_user=True)


def test_offline_access_is_explained_and_optional() -> None:
    scopes = parse_scopes("patient/Patient.rs offline_access")
    item = describe(scopes, patient_is_user=True)[1]
    assert item.label == "Keep access when you are offline (until you revoke it)"
    assert item.optional
    assert offers_offline_access(scopes)


def test_launch_context_scopes_are_not_optional() -> None:
    items = describe(parse_scopes("launch/patient openid fhirUser"), patient_is_user=True)
    assert [item.optional for item in items] == [False, False, False]


def test_observation_and_condition_offer_categories() -> None:
    items = describe(
        parse_scopes("patient/Observation.rs patient/Condition.rs patient/Patient.rs"), patient_is_user=True
    )
    assert [c.category.code for c in items[0].categories] == ["vital-signs", "laboratory", "survey", "social-history"]
    assert [c.category.code for c in items[1].categories] == ["problem-list-item", "encounter-diagnosis"]
    assert items[2].categories == ()


def test_scope_already_restricted_by_category_offers_no_categories() -> None:
    items = describe(parse_scopes(f"patient/Observation.rs?category={LAB}"), patient_is_user=True)
    assert items[0].categories == ()


def test_everything_ticked_grants_the_scopes_unchanged_in_v1() -> None:
    scopes = parse_scopes("patient/Observation.read patient/Patient.read launch/patient offline_access")
    granted = apply_choices(scopes, _all_fields(scopes))
    assert granted.to_string() == "patient/Observation.read patient/Patient.read launch/patient offline_access"


def test_unticked_resource_type_is_dropped() -> None:
    scopes = parse_scopes("patient/Observation.rs patient/Patient.rs")
    granted = apply_choices(scopes, _all_fields(scopes) - {"scope-0"})
    assert granted.to_string() == "patient/Patient.rs"


def test_unticked_offline_access_is_not_granted() -> None:
    scopes = parse_scopes("patient/Patient.rs offline_access")
    granted = apply_choices(scopes, {"scope-0"})
    assert "offline_access" not in granted


def test_required_scopes_stay_even_when_the_form_omits_them() -> None:
    scopes = parse_scopes("launch/patient openid patient/Patient.rs")
    assert apply_choices(scopes, {"scope-2"}).to_string() == "launch/patient openid patient/Patient.rs"


def test_unticked_category_narrows_to_the_ticked_categories() -> None:
    scopes = parse_scopes("patient/Observation.rs")
    ticked = _all_fields(scopes) - {"scope-0-social-history", "scope-0-survey"}
    granted = apply_choices(scopes, ticked)
    assert granted.to_string() == (
        f"patient/Observation.rs?category={OBSERVATION_CATEGORY}|vital-signs "
        f"patient/Observation.rs?category={OBSERVATION_CATEGORY}|laboratory"
    )


def test_narrowed_v1_scope_is_written_in_v2() -> None:
    scopes = parse_scopes("patient/Condition.read")
    granted = apply_choices(scopes, {"scope-0", "scope-0-problem-list-item"})
    assert granted.to_string() == f"patient/Condition.rs?category={CONDITION_CATEGORY}|problem-list-item"
    assert parse_scopes(granted.to_string()) == granted


def test_no_category_ticked_drops_the_scope() -> None:
    scopes = parse_scopes("patient/Condition.rs patient/Patient.rs")
    assert apply_choices(scopes, {"scope-0", "scope-1"}).to_string() == "patient/Patient.rs"


def test_fields_that_are_not_on_the_page_grant_nothing_extra() -> None:
    scopes = parse_scopes("patient/Patient.rs")
    assert apply_choices(scopes, {"scope-0", "scope-7", "scope-0-laboratory"}).to_string() == "patient/Patient.rs"
