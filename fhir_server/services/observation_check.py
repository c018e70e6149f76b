"""The write-time Observation coding check: a LOINC measure must come in a UCUM unit commensurable with the
one our LOINC table records for it (heart rate 8867-4 in `/min`, sleep in `min` or `h`, never in `kg`).

It runs on every Observation write, bulk imports included, so the tables are built once (at app
construction) and a check is a couple of dict lookups per coding. Mode `warn` stores the resource and
reports the issues; mode `reject` refuses it with a 422 (`ObservationCodingError`). A LOINC code absent
from our table is only ever a warning: the table is a subset of LOINC, not a list of what is valid.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from fhir_server.errors import BusinessRule
from fhir_server.search.values import UCUM, canonical_quantity
from terminology import Terminology
from terminology.content import LOINC
from terminology.measures import MeasureUnit, measure_units

CheckMode = Literal["off", "warn", "reject"]
log = logging.getLogger("novamind.observation_check")

_ONLY_ANNOTATIONS = re.compile(r"^(\{[^}]*\})+$")
_EXEMPT_STATUSES = frozenset({"cancelled", "entered-in-error"})  # no value is expected of these


class ObservationCodingError(BusinessRule):
    """An Observation's value is not in the unit its LOINC code is measured in (mode `reject`)."""

    code = "code-invalid"


@dataclass(frozen=True, slots=True)
class CodingIssue:
    """One finding; `expression` is the FHIRPath of the element, for OperationOutcome.issue.expression."""

    severity: Literal["error", "warning"]
    message: str
    expression: str
    code: str = "code-invalid"


@lru_cache(maxsize=256)
def dimension(unit: str) -> str:
    """A key that two UCUM units share exactly when one converts to the other (`h` and `min`, `kg` and `g`,
    `/min` and `{beats}/min`); annotation-only units such as `{steps}` are unity, like `1`."""
    if unit == "1" or _ONLY_ANNOTATIONS.match(unit):
        return "1"
    canonical = canonical_quantity(1.0, UCUM, unit)
    return canonical[1] if canonical else unit


@dataclass(frozen=True, slots=True)
class _Rule:
    measure: MeasureUnit
    dimensions: frozenset[str]
    expected: str  # "/min", "kg, g or [lb_av]": for messages


def _rule(measure: MeasureUnit) -> _Rule:
    units = measure.units
    expected = units[0] if len(units) == 1 else f"{', '.join(units[:-1])} or {units[-1]}"
    return _Rule(measure, frozenset(dimension(u) for u in units), expected)


class ObservationCodingCheck:
    """Built once per server from the terminology; `review` runs on each Observation before it is stored."""

    def __init__(self, terminology: Terminology, mode: CheckMode) -> None:
        self.mode = mode
        self._rules = {code: _rule(m) for code, m in measure_units(terminology).items()}
        self._loinc = frozenset(terminology.code_system(LOINC).concepts)

    def review(self, observation: Mapping[str, Any]) -> tuple[CodingIssue, ...]:
        """The issues of one Observation, logged; raises `ObservationCodingError` in mode `reject` when one
        of them is an error (warnings never refuse a write)."""
        if self.mode == "off":
            return ()
        issues = self.issues(observation)
        if not issues:
            return ()
        errors = [i for i in issues if i.severity == "error"]
        if errors and self.mode == "reject":
            raise ObservationCodingError(" ".join(i.message for i in errors), expression=[i.expression for i in errors])
        for issue in issues:  # codes and units only: no id, subject or value reaches the log
            log.warning("Observation coding check (%s): %s", self.mode, issue.message)
        return issues

    def issues(self, observation: Mapping[str, Any]) -> tuple[CodingIssue, ...]:
        found: list[CodingIssue] = []
        has_components = bool(observation.get("component"))
        exempt = has_components or observation.get("status") in _EXEMPT_STATUSES
        self._element(observation, "Observation", exempt, found)
        for i, component in enumerate(observation.get("component") or ()):
            if isinstance(component, Mapping):
                self._element(component, f"Observation.component[{i}]", False, found)
        return tuple(found)

    def _element(self, element: Mapping[str, Any], path: str, exempt: bool, found: list[CodingIssue]) -> None:
        code = element.get("code")
        codings = code.get("coding") if isinstance(code, Mapping) else None
        for j, coding in enumerate(codings or ()):
            if not isinstance(coding, Mapping) or coding.get("system") != LOINC:
                continue
            loinc = coding.get("code")
            rule = self._rules.get(loinc) if isinstance(loinc, str) else None
            if rule is not None:
                problem = _value_problem(rule, element, exempt)
                if problem is not None:
                    where, what = problem
                    found.append(CodingIssue("error", f"{path}.code {_measured_in(rule)}; {what}.", f"{path}.{where}"))
            elif loinc not in self._loinc:
                found.append(
                    CodingIssue(
                        "warning",
                        f"{path}.code LOINC {loinc} is not in the LOINC subset this server holds, so its unit "
                        "was not checked (it may still be a valid LOINC code).",
                        f"{path}.code.coding[{j}]",
                    )
                )


def _measured_in(rule: _Rule) -> str:
    m = rule.measure
    also = ", or valueInteger" if m.integer_allowed else ""
    return f"{m.code} ({m.display}) is measured in {rule.expected} (UCUM, or a unit convertible to it){also}"


def _value_problem(rule: _Rule, element: Mapping[str, Any], exempt: bool) -> tuple[str, str] | None:
    """(element, what is wrong) or None when the value fits the rule."""
    if "valueQuantity" in element:
        return _quantity_problem(rule, element["valueQuantity"], "valueQuantity")
    if "valueSampledData" in element:
        origin = element["valueSampledData"].get("origin") if isinstance(element["valueSampledData"], Mapping) else None
        return _quantity_problem(rule, origin, "valueSampledData.origin")
    if "valueInteger" in element and rule.measure.integer_allowed:
        return None
    present = next((key for key in element if key.startswith("value")), None)
    if present is not None:
        return present, f"it has {present}"
    if exempt or "dataAbsentReason" in element:
        return None
    return "value[x]", "it has no value (nor a dataAbsentReason)"


def _quantity_problem(rule: _Rule, quantity: Any, where: str) -> tuple[str, str] | None:
    if not isinstance(quantity, Mapping):
        return where, f"{where} is missing"
    unit = quantity.get("code")
    if quantity.get("system") != UCUM or not isinstance(unit, str) or not unit:
        shown = quantity.get("code") or quantity.get("unit")
        return where, f"{where} has {shown!r}, not a UCUM code (system {UCUM})" if shown else f"{where} has no unit"
    if dimension(unit) not in rule.dimensions:
        return where, f"{where} has {unit}"
    return None


def issues_outcome(issues: tuple[CodingIssue, ...]) -> dict[str, Any]:
    """The issues as an OperationOutcome (a transaction entry's `response.outcome`, a Prefer'd response)."""
    return {"resourceType": "OperationOutcome", "issue": [issue_json(i) for i in issues]}


def issue_json(issue: CodingIssue) -> dict[str, Any]:
    """One issue of a write that was stored: a warning, whatever it would have been in mode `reject`."""
    return {
        "severity": "warning",
        "code": issue.code,
        "diagnostics": issue.message,
        "expression": [issue.expression],
    }
