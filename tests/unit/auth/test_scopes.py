"""The SMART scope grammar: v1 and v2 resource scopes, granular queries, named scopes, and the refusals."""

from __future__ import annotations

import pytest

from fhir_server.auth.errors import InvalidScope, OAuthError
from fhir_server.auth.scopes import NamedScope, ResourceScope, ScopeContext, parse_scope, parse_scopes

LAB = "http://terminology.hl7.org/CodeSystem/observation-category|laboratory"


def resource(text: str) -> ResourceScope:
    scope = parse_scope(text)
    assert isinstance(scope, ResourceScope)
    return scope


def test_v2_scope_parses_context_type_and_letters() -> None:
    scope = resource("patient/Observation.rs")
    assert (scope.context, scope.resource_type, scope.permissions) == (
        ScopeContext.PATIENT,
        "Observation",
        frozenset("rs"),
    )


def test_v2_full_permissions_on_wildcard_type() -> None:
    scope = resource("user/*.cruds")
    assert scope.resource_type == "*"
    assert scope.letters == "cruds"


def test_system_context_is_recognised() -> None:
    assert resource("system/Patient.s").context is ScopeContext.SYSTEM


def test_v1_read_means_read_and_search() -> None:
    assert resource("patient/Observation.read").permissions == frozenset("rs")


def test_v1_write_does_not_include_read() -> None:
    assert resource("user/Observation.write").permissions == frozenset("cud")


def test_v1_star_means_all_permissions() -> None:
    assert resource("system/*.*").permissions == frozenset("cruds")


def test_v1_and_v2_spellings_of_the_same_scope_are_equal() -> None:
    assert parse_scope("patient/Observation.read") == parse_scope("patient/Observation.rs")


def test_v1_scope_is_echoed_in_v1_syntax() -> None:
    assert str(parse_scope("patient/Observation.read")) == "patient/Observation.read"


def test_v1_scope_has_a_v2_spelling() -> None:
    assert resource("user/*.write").to_v2() == "user/*.cud"


def test_granular_scope_keeps_its_query_restriction() -> None:
    scope = resource(f"patient/Observation.rs?category={LAB}")
    assert scope.query == (("category", LAB),)


def test_granular_scope_with_several_parameters_keeps_them_all() -> None:
    scope = resource("patient/Condition.rs?category=problem-list-item&clinical-status=active")
    assert scope.query == (("category", "problem-list-item"), ("clinical-status", "active"))


def test_granular_scope_values_are_percent_decoded() -> None:
    assert resource("patient/Observation.rs?code=a%20b").query == (("code", "a b"),)


def test_granular_scope_round_trips_through_its_v2_string() -> None:
    text = f"patient/Observation.rs?category={LAB}"
    assert parse_scope(resource(text).to_v2()) == parse_scope(text)


@pytest.mark.parametrize("name", ["openid", "fhirUser", "launch", "launch/patient", "launch/encounter"])
def test_launch_and_identity_scopes_are_named_scopes(name: str) -> None:
    assert parse_scope(name) == NamedScope(name)


@pytest.mark.parametrize("name", ["offline_access", "online_access"])
def test_refresh_token_scopes_are_named_scopes(name: str) -> None:
    assert parse_scope(name) == NamedScope(name)


@pytest.mark.parametrize(
    "text",
    [
        "patient/Observation.sr",  # letters out of cruds order
        "patient/Observation.rr",  # repeated letter
        "patient/Observation.x",  # unknown letter
        "patient/Observation.",  # no permissions
        "doctor/Observation.rs",  # unknown context
        "patient/observation.rs",  # not a resource type
        "patient/Observation",  # no permissions at all
        "launch/other",  # unsupported launch context
        "admin",  # unknown named scope
        "",
    ],
)
def test_malformed_scopes_are_refused(text: str) -> None:
    with pytest.raises(InvalidScope):
        parse_scope(text)


def test_v1_scope_cannot_carry_a_query() -> None:
    with pytest.raises(InvalidScope):
        parse_scope("patient/Observation.read?category=laboratory")


def test_query_parameter_without_value_is_refused() -> None:
    with pytest.raises(InvalidScope):
        parse_scope("patient/Observation.rs?category")


@pytest.mark.parametrize("param", ["_include", "_revinclude", "_has:Observation:subject:code", "_count", "_elements"])
def test_result_shaping_parameters_cannot_restrict_a_scope(param: str) -> None:
    with pytest.raises(InvalidScope):
        parse_scope(f"patient/Observation.rs?{param}=x")


def test_invalid_scope_carries_the_oauth_error_code() -> None:
    with pytest.raises(OAuthError) as caught:
        parse_scope("patient/Observation.zz")
    assert caught.value.to_json()["error"] == "invalid_scope"


def test_scope_string_is_split_on_whitespace_and_deduplicated() -> None:
    scopes = parse_scopes("openid  patient/Observation.rs patient/Observation.read fhirUser")
    assert [str(s) for s in scopes] == ["openid", "patient/Observation.rs", "fhirUser"]


def test_one_bad_token_fails_the_whole_scope_string() -> None:
    with pytest.raises(InvalidScope):
        parse_scopes("openid patient/Observation.rs bogus")


def test_named_scope_membership() -> None:
    scopes = parse_scopes("launch/patient offline_access patient/*.rs")
    assert "offline_access" in scopes
    assert "openid" not in scopes


def test_scope_string_echoes_each_scope_in_its_requested_syntax() -> None:
    assert parse_scopes("patient/*.read user/Patient.rs").to_string() == "patient/*.read user/Patient.rs"


def test_v2_string_normalises_v1_scopes() -> None:
    assert parse_scopes("patient/*.read").to_v2_string() == "patient/*.rs"


def test_narrower_scope_is_within_a_broader_one() -> None:
    assert resource(f"patient/Observation.r?category={LAB}").is_within(resource("patient/*.rs"))


def test_scope_with_more_permissions_is_not_within() -> None:
    assert not resource("patient/Observation.crs").is_within(resource("patient/Observation.rs"))


def test_scope_in_another_context_is_not_within() -> None:
    assert not resource("user/Observation.rs").is_within(resource("patient/Observation.rs"))


def test_unrestricted_scope_is_not_within_a_restricted_one() -> None:
    assert not resource("patient/Observation.rs").is_within(resource(f"patient/Observation.rs?category={LAB}"))


def test_requested_scopes_outside_the_allowed_ones_are_dropped_or_narrowed() -> None:
    requested = parse_scopes("openid offline_access patient/Observation.rs patient/Patient.cruds")
    allowed = parse_scopes("openid patient/*.rs")
    assert requested.within(allowed).to_string() == "openid patient/Observation.rs patient/Patient.rs"


def test_requested_permissions_are_cut_to_the_allowed_letters() -> None:
    requested = parse_scopes("patient/Observation.cruds")
    assert requested.within(parse_scopes("patient/*.rs")).to_string() == "patient/Observation.rs"


def test_allowed_permissions_combine_across_equivalent_scopes() -> None:
    # SMART scope equivalence: `Observation.rs` is interchangeable with `Observation.r Observation.s`.
    allowed = parse_scopes("patient/Observation.r patient/Observation.s")
    assert parse_scopes("patient/Observation.rs").within(allowed).to_string() == "patient/Observation.rs"


def test_v1_scope_cut_to_a_subset_without_a_v1_word_is_echoed_in_v2() -> None:
    requested = parse_scopes("patient/Observation.*")
    assert requested.within(parse_scopes("patient/Observation.r")).to_string() == "patient/Observation.r"
