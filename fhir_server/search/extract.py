"""Resource -> index rows for every search parameter of its type, and its Patient-compartment membership.

Called on every write, so the per-type plan (which parameters, compiled evaluators, converters) is built
once and cached; a resource then costs only the dict walks of `fhir_server.search.fhirpath`'s fast path.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fhir_server.search.fhirpath import Compiled, Evaluator, compile_expression, type_path_of
from fhir_server.search.registry import SearchParamDef, SearchRegistry, patient_compartment
from fhir_server.search.rows import CONVERTERS, Row, reference_rows

INDEX_TYPES = ("string", "token", "date", "number", "quantity", "reference", "uri")
# The row contract: the keys of every row per index type, i.e. the `idx_<type>` columns minus `id`,
# `resource_pk` and `res_type` (storage adds those). A unit test checks it against `storage.tables`.
INDEX_TABLES_COLUMNS: dict[str, frozenset[str]] = {
    "string": frozenset({"param", "grp", "value", "value_exact"}),
    "token": frozenset({"param", "grp", "system", "code", "text"}),
    "date": frozenset({"param", "grp", "low", "high"}),
    "number": frozenset({"param", "grp", "value", "low", "high"}),
    "quantity": frozenset(
        {
            "param",
            "grp",
            "value",
            "low",
            "high",
            "system",
            "code",
            "unit",
            "canonical_value",
            "canonical_code",
        }
    ),
    "reference": frozenset({"param", "grp", "target_type", "target_id", "target_version", "url"}),
    "uri": frozenset({"param", "grp", "value"}),
}
# Served from the resource table's own columns; indexing them again would only cost writes.
RESOURCE_COLUMN_PARAMS = frozenset({"_id", "_lastUpdated"})


def component_param_name(composite_code: str, index: int) -> str:
    """The `param` column value of a composite's component rows (`code-value-quantity$1`)."""
    return f"{composite_code}${index}"


def identifier_param_name(reference_code: str) -> str:
    """The token `param` under which `Reference.identifier` is indexed, for `:identifier` searches."""
    return f"{reference_code}:identifier"


def _safe(compiled: Compiled) -> Evaluator:
    """fhirpathpy rewrites decimals inside its input, so the slow path gets a private copy."""
    if compiled.fast:
        return compiled.evaluate
    evaluate = compiled.evaluate
    return lambda node: evaluate(copy.deepcopy(node))


@dataclass(frozen=True, slots=True)
class _Component:
    name: str
    index_type: str
    evaluate: Evaluator


@dataclass(frozen=True, slots=True)
class _Plan:
    definition: SearchParamDef
    evaluate: Evaluator
    root_keys: frozenset[str] | None
    components: tuple[_Component, ...] = ()


class IndexExtractor:
    """Turns a resource (parsed JSON dict) into rows for the `idx_*` tables."""

    def __init__(self, registry: SearchRegistry, *, base_url: str | None = None) -> None:
        self._registry = registry
        self._base_url = base_url
        self._plans: dict[str, tuple[_Plan, ...]] = {}
        self._compartment = patient_compartment()

    def _plan(self, res_type: str) -> tuple[_Plan, ...]:
        plans = self._plans.get(res_type)
        if plans is None:
            plans = tuple(p for d in self._registry.for_type(res_type).values() if (p := self._plan_for(res_type, d)))
            self._plans[res_type] = plans
        return plans

    def _plan_for(self, res_type: str, definition: SearchParamDef) -> _Plan | None:
        if definition.code in RESOURCE_COLUMN_PARAMS or not definition.expression:
            return None
        compiled = compile_expression(definition.expression)
        evaluate, root_keys = _safe(compiled), compiled.root_keys
        if definition.type != "composite":
            return _Plan(definition, evaluate, root_keys)
        context = type_path_of(definition.expression)
        components = []
        for index, (code, expression) in enumerate(definition.components):
            component = self._registry.get(res_type, code)
            if component is None or (component.type not in CONVERTERS and component.type != "reference"):
                return None
            components.append(
                _Component(
                    component_param_name(definition.code, index),
                    component.type,
                    _safe(compile_expression(expression, context)),
                )
            )
        return _Plan(definition, evaluate, root_keys, tuple(components))

    def extract(self, resource: dict[str, Any]) -> dict[str, list[Row]]:
        """Index rows per index type (`string`, `token`, ...); every type is present, maybe empty."""
        out: dict[str, list[Row]] = {t: [] for t in INDEX_TYPES}
        group = 0
        for plan in self._plan(resource.get("resourceType", "")):
            if plan.root_keys is not None and plan.root_keys.isdisjoint(resource):
                continue
            nodes = plan.evaluate(resource)
            if not nodes:
                continue
            definition = plan.definition
            if not plan.components:
                self._emit(definition.type, definition.code, None, nodes, out)
                continue
            for element in nodes:
                values = [component.evaluate(element) for component in plan.components]
                if all(values):  # a composite matches only where every component has a value
                    group += 1
                    for component, component_nodes in zip(plan.components, values, strict=True):
                        self._emit(component.index_type, component.name, group, component_nodes, out)
        return out

    def _emit(self, index_type: str, param: str, grp: int | None, nodes: list[Any], out: dict[str, list[Row]]) -> None:
        if index_type == "reference":
            rows, tokens = out["reference"], out["token"]
            for node in nodes:
                reference_rows(param, grp, node, rows, self._base_url, tokens)
            return
        convert: Callable[[str, int | None, Any, list[Row]], None] | None = CONVERTERS.get(index_type)
        if convert is None:
            return
        rows = out[index_type]
        for node in nodes:
            convert(param, grp, node, rows)

    def compartments(self, resource: dict[str, Any], rows: dict[str, list[Row]] | None = None) -> list[tuple[str, str]]:
        """The Patient compartments the resource is in (R4 CompartmentDefinition/patient), as (type, id).

        Pass the rows `extract` already produced to avoid evaluating the reference parameters twice.
        """
        res_type = resource.get("resourceType", "")
        found: dict[tuple[str, str], None] = {}
        if res_type == "Patient" and isinstance(resource.get("id"), str):
            found[("Patient", resource["id"])] = None
        params = self._compartment.get(res_type, ())
        if params:
            if rows is None:
                rows = {"reference": [], "token": []}
                for code in params:
                    definition = self._registry.get(res_type, code)
                    if definition and definition.expression:
                        nodes = _safe(compile_expression(definition.expression))(resource)
                        self._emit("reference", code, None, nodes, rows)
            wanted = set(params)
            for row in rows["reference"]:
                if (
                    row["param"] in wanted
                    and row["target_type"] == "Patient"
                    and row["url"] is None
                    and row["target_id"]
                ):
                    found[("Patient", row["target_id"])] = None
        return list(found)
