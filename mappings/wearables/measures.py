"""The measures a wearable reading can carry, loaded from `data/measures.csv`.

Codes are never typed into the mappers: a mapper names a measure (`"heart-rate"`), and this table says which
code, UCUM unit and Observation category it has. LOINC displays and UCUM units are read from the terminology
package's tables, and loading fails if a LOINC code is missing there or flagged UNVERIFIED, a twin-concepts code
is not in our CodeSystem's table, or a unit is not in its UCUM table, so a wrong code cannot be shipped
silently. Besides wearable measures the table holds the self-reported scores a legacy payload carries
(`survey` category: questionnaire totals and twin-concept ratings, see `mappings.legacy`), so they go through
the same Observation builder.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
LOCAL_MEASURES = "http://novamind.example.org/fhir/CodeSystem/wearable-measure"
TWIN_CONCEPTS = "http://novamind.example.org/fhir/CodeSystem/twin-concepts"  # at the default canonical base
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
CATEGORY_DISPLAY = {"vital-signs": "Vital Signs", "activity": "Activity", "survey": "Survey"}


class MeasureTableError(Exception):
    """The shipped measure table disagrees with the terminology tables (a packaging bug, caught at load)."""


@dataclass(frozen=True, slots=True)
class Measure:
    key: str
    system: str
    code: str
    display: str
    unit: str | None  # UCUM code; None for measures whose value is not a quantity
    category: str


def _read_csv(package: str, name: str) -> list[dict[str, str]]:
    text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@cache
def measures() -> dict[str, Measure]:
    """Every measure by key, checked against terminology/data/loinc.csv and ucum.csv."""
    loinc = {row["code"]: row for row in _read_csv("terminology", "data/loinc.csv")}
    ucum = {row["code"] for row in _read_csv("terminology", "data/ucum.csv")}
    twin = {row["code"]: row for row in _read_csv("terminology", "data/twin-concepts.csv")}
    table: dict[str, Measure] = {}
    for row in _read_csv("mappings.wearables", "data/measures.csv"):
        display = row["display"]
        if row["system"] == LOINC:
            known = loinc.get(row["code"])
            if known is None or known["verification"].upper() == "UNVERIFIED":
                raise MeasureTableError(f"LOINC {row['code']} ({row['measure']}) is not a verified row of loinc.csv")
            display = known["display"]
        elif row["system"] == TWIN_CONCEPTS:
            concept = twin.get(row["code"])
            if concept is None or concept["abstract"] == "true":
                raise MeasureTableError(f"{row['code']} ({row['measure']}) is not a selectable twin concept")
            display = concept["display"]
        if row["unit"] and row["unit"] not in ucum:
            raise MeasureTableError(f"unit {row['unit']!r} ({row['measure']}) is not in ucum.csv")
        if row["category"] not in CATEGORY_DISPLAY:
            raise MeasureTableError(f"category {row['category']!r} ({row['measure']}) is not one we emit")
        table[row["measure"]] = Measure(
            row["measure"], row["system"], row["code"], display, row["unit"] or None, row["category"]
        )
    return table


def measure(key: str) -> Measure:
    return measures()[key]
