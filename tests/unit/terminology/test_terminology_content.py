"""What is shipped: the tables' codes only, unverified rows left out, weaker evidence marked on the concept."""

from __future__ import annotations

import pytest

from terminology import Terminology
from terminology.content import ICD_10_CM, LOINC, RXNORM, SNOMED_CT, read_table

SLEEP_DURATION = "93832-4"  # UNVERIFIED in loinc.csv
DESVENLAFAXINE = "734064"  # UNVERIFIED in rxnorm.csv
HRV_SDNN = "80404-7"  # secondary in loinc.csv


def test_unverified_rows_are_not_shipped_by_default(terminology: Terminology) -> None:
    assert SLEEP_DURATION not in terminology.code_system(LOINC).concepts
    assert DESVENLAFAXINE not in terminology.code_system(RXNORM).concepts


def test_unverified_rows_load_only_when_asked_for_and_are_marked() -> None:
    everything = Terminology.load_default(include_unverified=True)
    assert everything.concept(LOINC, SLEEP_DURATION).property("verification") == "unverified"


def test_secondary_rows_are_shipped_and_marked(terminology: Terminology) -> None:
    assert terminology.concept(LOINC, HRV_SDNN).property("verification") == "secondary"
    assert terminology.concept(SNOMED_CT, "80583007").property("verification") == "secondary-single"


def test_verified_rows_are_marked_verified(terminology: Terminology) -> None:
    assert terminology.concept(LOINC, "8867-4").property("verification") == "verified"
    assert terminology.concept(ICD_10_CM, "F32").property("verification") == "verified-cms-only"


@pytest.mark.parametrize(
    ("system", "tables"),
    [
        (LOINC, ("loinc.csv", "loinc-answers.csv")),
        (SNOMED_CT, ("snomed.csv",)),
        (ICD_10_CM, ("icd10cm.csv",)),
        (RXNORM, ("rxnorm.csv",)),
        ("http://unitsofmeasure.org", ("ucum.csv",)),
        ("http://www.genenames.org", ("pgx-genes.csv",)),
    ],
)
def test_every_shipped_code_and_display_comes_from_the_source_tables(
    terminology: Terminology, system: str, tables: tuple[str, ...]
) -> None:
    rows = {row["code"]: row for table in tables for row in read_table(table)}
    concepts = terminology.code_system(system).concepts
    assert concepts
    for code, concept in concepts.items():
        assert code in rows, f"{system}|{code} is not in {tables}"
        assert concept.display == rows[code]["display"]


def test_every_verified_row_is_shipped(terminology: Terminology) -> None:
    for row in read_table("snomed.csv") + read_table("icd10cm.csv"):
        assert row["code"] in terminology.code_system(row["system"]).concepts


def test_icd10cm_hierarchy_follows_the_classification(terminology: Terminology) -> None:
    icd = terminology.code_system(ICD_10_CM)
    assert icd.concepts["F32.1"].parent == "F32"
    assert icd.concepts["F43.10"].parent == "F43.1"
    assert icd.concepts["F33.40"].parent == "F33"  # F33.4 is not shipped: the nearest shipped ancestor
    assert icd.concepts["F32"].parent is None


def test_phq_answers_carry_their_scores(terminology: Terminology) -> None:
    scores = {terminology.concept(LOINC, code).property("score") for code in ("LA6568-5", "LA6571-9")}
    assert scores == {0, 3}


def test_twin_concepts_group_forecast_and_correlation_components_and_insight_types(
    terminology: Terminology,
) -> None:
    twin = terminology.code_system("http://novamind.example.org/fhir/CodeSystem/twin-concepts")
    groups = {c.code for c in twin.children(None)}
    assert groups == {"forecast-component", "correlation-component", "insight-type", "symptom-rating"}
    assert all(twin.concepts[g].abstract for g in groups)
    assert "interval-95-upper" in {c.code for c in twin.children("forecast-component")}
    assert "q-value" in {c.code for c in twin.children("correlation-component")}
    assert "mood-rating" in {c.code for c in twin.children("symptom-rating")}


def test_canonical_base_is_configurable() -> None:
    other = Terminology.load_default("https://twin.example.com/fhir/")
    assert other.code_system("https://twin.example.com/fhir/CodeSystem/twin-concepts").name == "NovaMindTwinConcepts"
    assert other.value_set("https://twin.example.com/fhir/ValueSet/phq-gad-answers").members


def test_healthkit_types_map_to_shipped_loinc_codes_only(terminology: Terminology) -> None:
    by_type = {m.identifier: m for m in terminology.healthkit_map()}
    heart_rate = by_type["HKQuantityTypeIdentifierHeartRate"]
    assert (heart_rate.loinc_code, heart_rate.ucum_unit, heart_rate.category) == ("8867-4", "/min", "vital-signs")
    assert by_type["HKQuantityTypeIdentifierWalkingHeartRateAverage"].loinc_code is None
