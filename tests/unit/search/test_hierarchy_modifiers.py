"""Token `:below` / `:above` become the OR of a code and what it subsumes / what subsumes it (R4 search.html#token)."""

from __future__ import annotations

import pytest

from fhir_server.errors import InvalidRequest, NotSupported
from fhir_server.search.params import SearchQuery, parse_search
from fhir_server.search.registry import SearchRegistry
from fhir_server.services.value_sets import terminology_lookups
from terminology import Terminology

ICD = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"


@pytest.fixture(scope="module")
def terminology() -> Terminology:
    return Terminology.load_default()


def _parse(registry: SearchRegistry, terminology: Terminology, name: str, value: str) -> SearchQuery:
    return parse_search(registry, "Condition", [(name, value)], value_sets=terminology_lookups(terminology))


def _codes(query: SearchQuery) -> set[tuple[str | None, str | None]]:
    [clause] = query.clauses
    assert clause.modifier is None
    return {(v.system, v.code) for v in clause.values}


def test_below_is_the_code_and_its_descendants(registry: SearchRegistry, terminology: Terminology) -> None:
    codes = _codes(_parse(registry, terminology, "code:below", f"{ICD}|F43.1"))
    assert codes == {(ICD, "F43.1"), (ICD, "F43.10"), (ICD, "F43.11"), (ICD, "F43.12")}


def test_above_is_the_code_and_its_ancestors(registry: SearchRegistry, terminology: Terminology) -> None:
    assert _codes(_parse(registry, terminology, "code:above", f"{ICD}|F32.1")) == {(ICD, "F32.1"), (ICD, "F32")}


def test_alternatives_are_ored_without_duplicates(registry: SearchRegistry, terminology: Terminology) -> None:
    query = _parse(registry, terminology, "code:above", f"{ICD}|F32.1,{ICD}|F32.2")
    assert sorted(v.code or "" for v in query.clauses[0].values) == ["F32", "F32.1", "F32.2"]


def test_below_needs_a_system(registry: SearchRegistry, terminology: Terminology) -> None:
    with pytest.raises(InvalidRequest, match="needs system\\|code"):
        _parse(registry, terminology, "code:below", "F32")


def test_below_in_a_system_without_hierarchy_says_so(registry: SearchRegistry, terminology: Terminology) -> None:
    with pytest.raises(InvalidRequest, match="without its hierarchy"):
        _parse(registry, terminology, "code:below", f"{SNOMED}|370143000")


def test_below_an_unknown_code_says_it_is_not_held(registry: SearchRegistry, terminology: Terminology) -> None:
    with pytest.raises(InvalidRequest, match="not in the subset"):
        _parse(registry, terminology, "code:below", f"{ICD}|F99.99")


def test_below_an_unknown_system_says_so(registry: SearchRegistry, terminology: Terminology) -> None:
    with pytest.raises(InvalidRequest, match="not known"):
        _parse(registry, terminology, "code:below", "http://example.org/codes|A")


def test_without_a_terminology_below_is_not_supported(registry: SearchRegistry) -> None:
    with pytest.raises(NotSupported):
        parse_search(registry, "Condition", [("code:below", f"{ICD}|F32")])


def test_uri_below_still_works_without_a_terminology(registry: SearchRegistry) -> None:
    [clause] = parse_search(registry, "ValueSet", [("url:below", "http://example.org/fhir")]).clauses
    assert clause.modifier == "below"
