"""The UCUM unit each LOINC measure is recorded in, read from the LOINC table's `ucum_unit` / `value_type`.

The server's write-time Observation check and any importer must agree on "in which unit is this LOINC
measure recorded?", so the answer lives here, beside the data, and nobody retypes a code or a unit:
`loinc.csv` holds the preferred unit (`ucum_unit`), and its `value_type` names the other accepted units
in parentheses ("Quantity (Cel or [degF])", "Quantity (kg, g or [lb_av])"); only names that are codes of
our UCUM table count as units. Codes the table leaves out (rows marked UNVERIFIED) have no rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from terminology.content import LOINC, UCUM
from terminology.service import Terminology

_PARENTHESES = re.compile(r"\(([^)]*)\)")
_LIST_SEPARATORS = re.compile(r",|\bor\b")


@dataclass(frozen=True, slots=True)
class MeasureUnit:
    """A LOINC code whose value is a quantity: its preferred UCUM unit and the alternatives the table names."""

    code: str
    display: str
    unit: str
    alternatives: tuple[str, ...] = ()
    integer_allowed: bool = False  # scores: "integer or Quantity {score}"

    @property
    def units(self) -> tuple[str, ...]:
        return (self.unit, *self.alternatives)


def measure_units(terminology: Terminology) -> dict[str, MeasureUnit]:
    """LOINC code -> its unit rule, for every LOINC concept held that has a UCUM unit."""
    loinc = terminology.code_system(LOINC)
    ucum = terminology.code_system(UCUM).concepts
    table: dict[str, MeasureUnit] = {}
    for concept in loinc.concepts.values():
        unit = concept.property("ucum-unit")
        if not isinstance(unit, str) or not unit:
            continue
        value_type = str(concept.property("value-type") or "")
        named = (name.strip() for group in _PARENTHESES.findall(value_type) for name in _LIST_SEPARATORS.split(group))
        alternatives = tuple(dict.fromkeys(n for n in named if n in ucum and n != unit))
        table[concept.code] = MeasureUnit(
            concept.code,
            concept.display,
            unit,
            alternatives,
            integer_allowed=value_type.lower().startswith("integer"),
        )
    return table
