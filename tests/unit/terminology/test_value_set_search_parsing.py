"""`:in` / `:not-in` on token parameters become the value set's codes (OR), or `:not` over them."""

from __future__ import annotations

import pytest

from fhir_server.errors import InvalidRequest, NotSupported
from fhir_server.search.params import parse_search
from fhir_server.search.registry import SearchRegistry
from fhir_server.services.value_sets import terminology_lookups
from terminology import Terminology

ANSWERS = "http://novamind.example.org/fhir/ValueSet/phq-gad-answers"
LOINC = "http://loinc.org"


@pytest.fixture(scope="module")
def registry() -> SearchRegistry:
    return SearchRegistry.load_default()


def test_in_is_the_or_of_the_value_set_codes(registry: SearchRegistry, terminology: Terminology) -> None:
    q = parse_search(
        registry, "Observation", [("value-concept:in", ANSWERS)], value_sets=terminology_lookups(terminology)
    )
    [clause] = q.clauses
    assert clause.modifier is None
    assert [(v.system, v.code) for v in clause.values] == [
        (LOINC, "LA6568-5"),
        (LOINC, "LA6569-3"),
        (LOINC, "LA6570-1"),
        (LOINC, "LA6571-9"),
    ]


def test_not_in_is_not_over_the_value_set_codes(registry: SearchRegistry, terminology: Terminology) -> None:
    pairs = [("value-concept:not-in", ANSWERS)]
    [clause] = parse_search(registry, "Observation", pairs, value_sets=terminology_lookups(terminology)).clauses
    assert clause.modifier == "not"
    assert len(clause.values) == 4


def test_an_unknown_value_set_is_a_bad_request(registry: SearchRegistry, terminology: Terminology) -> None:
    with pytest.raises(InvalidRequest, match="not known"):
        parse_search(
            registry, "Condition", [("code:in", "http://example.org/vs")], value_sets=terminology_lookups(terminology)
        )


def test_in_on_a_parameter_that_is_not_a_token_is_rejected(registry: SearchRegistry, terminology: Terminology) -> None:
    with pytest.raises((InvalidRequest, NotSupported)):
        parse_search(registry, "Patient", [("name:in", ANSWERS)], value_sets=terminology_lookups(terminology))


def test_without_a_terminology_in_is_not_supported(registry: SearchRegistry) -> None:
    with pytest.raises(NotSupported):
        parse_search(registry, "Condition", [("code:in", ANSWERS)])
