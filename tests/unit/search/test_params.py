"""Parsing query pairs into SearchQuery: values, modifiers, chains, result parameters, errors."""

from __future__ import annotations

import pytest

from fhir_server.errors import InvalidRequest, NotSupported
from fhir_server.search.params import parse_search


def parse(registry, *pairs, res_type="Observation"):
    return parse_search(registry, res_type, pairs)


def only_clause(registry, *pairs, res_type="Observation"):
    (clause,) = parse(registry, *pairs, res_type=res_type).clauses
    return clause


def test_token_forms(registry):
    values = only_clause(registry, ("code", "http://loinc.org|1,|2,3,sys|")).values
    assert [(v.system, v.code, v.has_system) for v in values] == [
        ("http://loinc.org", "1", True),
        (None, "2", True),
        (None, "3", False),
        ("sys", None, True),
    ]


def test_escaped_separators_are_literal(registry):
    values = only_clause(registry, ("identifier", r"a\|b\,c"), res_type="Patient").values
    assert [(v.code, v.has_system) for v in values] == [("a|b,c", False)]


def test_date_prefix_and_range(registry):
    (value,) = only_clause(registry, ("date", "ge2020-03")).values
    assert value.prefix == "ge"
    assert value.low < value.high


def test_number_without_prefix_is_eq(registry):
    (value,) = only_clause(registry, ("probability", "0.5"), res_type="RiskAssessment").values
    assert (value.prefix, value.number, value.low, value.high) == ("eq", 0.5, 0.45, 0.55)


def test_quantity_with_system_and_code(registry):
    (value,) = only_clause(registry, ("value-quantity", "lt5.4|http://unitsofmeasure.org|mg")).values
    assert (value.prefix, value.number, value.system, value.code) == (
        "lt",
        5.4,
        "http://unitsofmeasure.org",
        "mg",
    )


def test_quantity_with_code_only(registry):
    (value,) = only_clause(registry, ("value-quantity", "5||mg")).values
    assert (value.system, value.code) == (None, "mg")


def test_composite_splits_on_dollar(registry):
    (value,) = only_clause(registry, ("code-value-quantity", "http://loinc.org|8867-4$gt100")).values
    code, quantity = value.components
    assert (code.system, code.code) == ("http://loinc.org", "8867-4")
    assert (quantity.prefix, quantity.number) == ("gt", 100.0)


def test_composite_with_wrong_part_count_names_the_parameter(registry):
    with pytest.raises(InvalidRequest, match="code-value-quantity"):
        parse(registry, ("code-value-quantity", "8867-4"))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("date", "yesterday"),
        ("value-quantity", "abc"),
        ("_count", "-1"),
        ("_summary", "maybe"),
        ("_total", "all"),
        ("code", ""),
        ("subject:Device.name", "x"),
        ("_sort", "nope"),
    ],
)
def test_malformed_values_raise_invalid_request_naming_the_parameter(registry, name, value):
    with pytest.raises(InvalidRequest) as raised:
        parse(registry, (name, value))
    assert name.split(":")[0].split(".")[0] in raised.value.message


def test_modifiers_are_recorded(registry):
    assert only_clause(registry, ("name:exact", "Ann"), res_type="Patient").modifier == "exact"
    assert only_clause(registry, ("code:not", "1")).modifier == "not"
    assert only_clause(registry, ("subject:missing", "true")).modifier == "missing"


def test_invalid_modifier_for_type_is_rejected(registry):
    with pytest.raises(InvalidRequest, match="exact"):
        parse(registry, ("code:exact", "1"))


def test_terminology_modifiers_are_not_supported_yet(registry):
    with pytest.raises(NotSupported):
        parse(registry, ("code:below", "1"))


def test_reference_type_modifier(registry):
    clause = only_clause(registry, ("subject:Patient", "1"))
    assert (clause.param.code, clause.modifier) == ("subject", "Patient")


def test_chain_with_type_and_multiple_levels(registry):
    clause = only_clause(registry, ("subject:Patient.organization.name", "acme"))
    assert [(link.param.code, link.target_types) for link in clause.chain] == [
        ("subject", ("Patient",)),
        ("organization", ("Organization",)),
    ]
    assert clause.param.code == "name"


def test_untyped_chain_keeps_only_targets_with_the_parameter(registry):
    clause = only_clause(registry, ("subject.birthdate", "2000"))
    assert clause.chain[0].target_types == ("Patient",)


def test_has_parses_reverse_chain(registry):
    clause = only_clause(registry, ("_has:Observation:patient:code", "1234"), res_type="Patient")
    assert [(h.res_type, h.param.code) for h in clause.has] == [("Observation", "patient")]
    assert clause.param.code == "code"


def test_has_must_refer_to_the_searched_type(registry):
    with pytest.raises(InvalidRequest, match="does not refer"):
        parse(registry, ("_has:Observation:patient:code", "1"), res_type="Organization")


def test_sort_count_total_summary_elements(registry):
    query = parse(
        registry,
        ("_sort", "-date,code"),
        ("_count", "20"),
        ("_total", "accurate"),
        ("_summary", "count"),
        ("_elements", "id,code"),
        ("_format", "json"),
    )
    assert [(k.param.code, k.descending) for k in query.sort] == [("date", True), ("code", False)]
    assert (query.count, query.total, query.summary, query.elements) == (
        20,
        "accurate",
        "count",
        ("id", "code"),
    )
    assert query.clauses == () and query.unknown == ()


def test_include_and_revinclude_with_iterate(registry):
    query = parse(
        registry,
        ("_include", "Observation:subject:Patient"),
        ("_include", "*"),
        ("_revinclude:iterate", "Provenance:target"),
    )
    first, star = query.includes
    assert (first.source_type, first.param.code, first.target_type, first.iterate) == (
        "Observation",
        "subject",
        "Patient",
        False,
    )
    assert star.param is None
    (rev,) = query.revincludes
    assert (rev.source_type, rev.param.code, rev.iterate) == ("Provenance", "target", True)


def test_include_of_unknown_parameter_is_rejected(registry):
    with pytest.raises(InvalidRequest, match="_include"):
        parse(registry, ("_include", "Observation:nope"))


def test_unknown_parameters_are_collected_not_rejected(registry):
    query = parse(registry, ("foo", "1"), ("_text", "x"), ("code", "1"))
    assert query.unknown == ("foo", "_text")
    assert len(query.clauses) == 1


def test_system_level_search_allows_only_common_parameters(registry):
    query = parse(registry, ("_id", "1"), ("code", "x"), ("_type", "Patient,Observation"), res_type=None)
    assert [c.param.code for c in query.clauses] == ["_id"]
    assert query.unknown == ("code",)
    assert query.types == ("Patient", "Observation")
