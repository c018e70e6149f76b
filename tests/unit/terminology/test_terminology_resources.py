"""The content as FHIR: every artefact is valid R4 and carries its licence notice."""

from __future__ import annotations

from typing import Any

import pytest

from fhir_server.fhir_models import validate_resource
from terminology import Terminology
from terminology.resources import all_resources, expansion_resource

VS = "http://novamind.example.org/fhir/ValueSet/"


@pytest.fixture(scope="module")
def resources(terminology: Terminology) -> dict[str, dict[str, Any]]:
    return {f"{r['resourceType']}/{r['id']}": r for r in all_resources(terminology)}


def test_every_artefact_is_valid_fhir(resources: dict[str, dict[str, Any]]) -> None:
    for key, resource in resources.items():
        assert validate_resource(resource) == key.split("/")[0]


def test_the_artefacts_are_the_code_systems_value_sets_and_map(resources: dict[str, dict[str, Any]]) -> None:
    assert set(resources) == {
        "CodeSystem/loinc",
        "CodeSystem/snomed-ct",
        "CodeSystem/icd-10-cm",
        "CodeSystem/rxnorm",
        "CodeSystem/ucum",
        "CodeSystem/hgnc",
        "CodeSystem/twin-concepts",
        "ValueSet/psychiatric-conditions",
        "ValueSet/phq-gad-answers",
        "ValueSet/phq9-difficulty-answers",
        "ValueSet/wearable-measures",
        "ValueSet/psychiatric-medications",
        "ValueSet/twin-concepts",
        "ConceptMap/icd10cm-to-snomed",
    }


def test_loinc_and_snomed_artefacts_carry_their_notices(resources: dict[str, dict[str, Any]]) -> None:
    assert "Regenstrief" in resources["CodeSystem/loinc"]["copyright"]
    assert "SNOMED International" in resources["CodeSystem/snomed-ct"]["copyright"]
    assert "SNOMED International" in resources["ValueSet/psychiatric-conditions"]["copyright"]
    assert "Regenstrief" in resources["ValueSet/wearable-measures"]["copyright"]


def test_subsets_are_fragments_and_our_own_system_is_complete(resources: dict[str, dict[str, Any]]) -> None:
    assert resources["CodeSystem/loinc"]["content"] == "fragment"
    assert resources["CodeSystem/twin-concepts"]["content"] == "complete"


def test_secondary_codes_are_marked_in_the_code_system(resources: dict[str, dict[str, Any]]) -> None:
    hrv = next(c for c in resources["CodeSystem/loinc"]["concept"] if c["code"] == "80404-7")
    assert {"code": "verification", "valueCode": "secondary"} in hrv["property"]


def test_icd10cm_concepts_nest_under_their_category(resources: dict[str, dict[str, Any]]) -> None:
    f32 = next(c for c in resources["CodeSystem/icd-10-cm"]["concept"] if c["code"] == "F32")
    assert "F32.1" in {c["code"] for c in f32["concept"]}
    assert resources["CodeSystem/icd-10-cm"]["hierarchyMeaning"] == "is-a"


def test_answer_value_set_carries_ordinal_values(resources: dict[str, dict[str, Any]]) -> None:
    [include] = resources["ValueSet/phq-gad-answers"]["compose"]["include"]
    scores = [c["extension"][0]["valueDecimal"] for c in include["concept"]]
    assert scores == [0, 1, 2, 3]


def test_concept_map_groups_icd10cm_to_snomed(resources: dict[str, dict[str, Any]]) -> None:
    [group] = resources["ConceptMap/icd10cm-to-snomed"]["group"]
    assert (group["source"], group["target"]) == ("http://hl7.org/fhir/sid/icd-10-cm", "http://snomed.info/sct")
    unmatched = next(e for e in group["element"] if e["code"] == "T14.91XA")
    assert unmatched["target"][0]["equivalence"] == "unmatched"


def test_an_expansion_is_a_valid_value_set(terminology: Terminology) -> None:
    expansion = terminology.expand(VS + "wearable-measures", filter="heart", count=2)
    resource = expansion_resource(expansion, "2026-11-26T05:00:00Z")
    validate_resource(resource, "ValueSet")
    assert resource["expansion"]["total"] == expansion.total
    assert len(resource["expansion"]["contains"]) == 2


def test_twin_concept_groups_are_not_selectable(resources: dict[str, dict[str, Any]]) -> None:
    twin = resources["CodeSystem/twin-concepts"]
    assert {"code": "notSelectable", "valueBoolean": True} in twin["concept"][0]["property"]
    assert "notSelectable" in {p["code"] for p in twin["property"]}
