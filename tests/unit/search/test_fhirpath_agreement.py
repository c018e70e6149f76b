"""The fast path must answer exactly what fhirpathpy answers, for every fast-pathed R4 expression.

Run over every official example resource and every parameter (and composite component) of its type.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from fhir_server.search.fhirpath import compile_expression, compile_fhirpathpy, type_path_of
from fhir_server.search.registry import SearchRegistry, split_union

from .search_examples import load_examples

EXAMPLES = load_examples()


def _canonical(value: Any) -> Any:
    """fhirpathpy turns decimals into strings; compare numbers by value either way."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _as_set(values: list[Any]) -> set[str]:
    return {json.dumps(_canonical(v), sort_keys=True, default=str) for v in values}


def _cases() -> list[Any]:
    registry = SearchRegistry.load_default()
    cases = []
    for resource in EXAMPLES:
        for code, param in registry.for_type(resource["resourceType"]).items():
            if param.expression:
                cases.append(pytest.param(resource, param.expression, "", id=f"{resource['resourceType']}-{code}"))
            for component_code, expression in param.components:
                pair = (param.expression, expression)
                context = type_path_of(param.expression or "")
                cases.append(
                    pytest.param(resource, pair, context, id=f"{resource['resourceType']}-{code}-{component_code}")
                )
    return cases


@pytest.mark.skipif(not EXAMPLES, reason="shared FHIR examples are not available")
@pytest.mark.parametrize(("resource", "expression", "context"), _cases())
def test_fast_path_agrees_with_fhirpathpy(resource, expression, context):
    if isinstance(expression, tuple):  # composite component: evaluate on each element of the base
        base, relative = expression
        elements = compile_expression(base).evaluate(resource)
        compiled = compile_expression(relative, context)
        if not compiled.fast:
            pytest.skip("not on the fast path")
        fast = [v for element in elements for v in compiled.evaluate(element)]
        # fhirpathpy loses element types across a union, so ask it one union part at a time.
        slow = [
            v
            for part in split_union(base)
            for v in compile_fhirpathpy(f"{part}.select({relative})")(json.loads(json.dumps(resource)))
        ]
        assert _as_set(fast) == _as_set(slow)
        return
    compiled = compile_expression(expression)
    if not compiled.fast:
        pytest.skip("not on the fast path")
    slow = compile_fhirpathpy(expression)(json.loads(json.dumps(resource)))
    assert _as_set(compiled.evaluate(resource)) == _as_set(slow)


def test_every_r4_expression_is_on_the_fast_path(registry):
    slow = {
        param.expression
        for t in registry.resource_types()
        for param in registry.for_type(t).values()
        if param.expression and not compile_expression(param.expression).fast
    }
    assert slow == set()


@pytest.mark.parametrize(
    "patient",
    [
        {"resourceType": "Patient", "id": "a"},
        {"resourceType": "Patient", "id": "b", "deceasedBoolean": False},
        {"resourceType": "Patient", "id": "c", "deceasedBoolean": True},
        {"resourceType": "Patient", "id": "d", "deceasedDateTime": "2020-01-01"},
    ],
)
def test_handwritten_deceased_agrees_with_fhirpathpy(patient):
    expression = "Patient.deceased.exists() and Patient.deceased != false"
    assert compile_expression(expression).evaluate(patient) == compile_fhirpathpy(expression)(dict(patient))
