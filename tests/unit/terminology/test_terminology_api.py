"""The FHIR-free API: lookup, validation, value sets, expansion, translation and subsumption."""

from __future__ import annotations

import pytest

from terminology import (
    BadTerminologyRequest,
    NoHierarchy,
    Terminology,
    UnknownCode,
    UnknownCodeSystem,
    UnknownConceptMap,
    UnknownValueSet,
)
from terminology.content import ICD_10_CM, LOINC, SNOMED_CT
from terminology.model import Equivalence, Subsumption

VS = "http://novamind.example.org/fhir/ValueSet/"
TWIN = "http://novamind.example.org/fhir/CodeSystem/twin-concepts"
MAP = "http://novamind.example.org/fhir/ConceptMap/icd10cm-to-snomed"


# ---- lookup ----------------------------------------------------------------------------------------------


def test_lookup_gives_display_and_properties(terminology: Terminology) -> None:
    found = terminology.lookup(LOINC, "8867-4")
    assert found.display == "Heart rate"
    assert ("ucum-unit", "/min") in found.properties
    assert ("observation-category", "vital-signs") in found.properties


def test_lookup_gives_parent_and_children_where_there_is_hierarchy(terminology: Terminology) -> None:
    found = terminology.lookup(ICD_10_CM, "F43.1")
    assert found.parent is None
    assert found.children == ("F43.10", "F43.11", "F43.12")


def test_lookup_gives_designations_where_the_tables_have_them(terminology: Terminology) -> None:
    found = terminology.lookup(LOINC, "LA25392-4")
    assert [d.value for d in found.designations] == ["Increased function (transporters)"]


def test_lookup_of_a_code_outside_the_subset_says_so(terminology: Terminology) -> None:
    with pytest.raises(UnknownCode, match="not in the subset"):
        terminology.lookup(LOINC, "2345-7")


def test_lookup_in_an_unknown_system_fails(terminology: Terminology) -> None:
    with pytest.raises(UnknownCodeSystem):
        terminology.lookup("http://example.org/codes", "x")


def test_lookup_of_another_version_fails(terminology: Terminology) -> None:
    with pytest.raises(UnknownCodeSystem, match="only in version"):
        terminology.lookup(LOINC, "8867-4", version="2.40")


def test_lookup_needs_a_code(terminology: Terminology) -> None:
    with pytest.raises(BadTerminologyRequest):
        terminology.lookup(LOINC, "")


# ---- validation ------------------------------------------------------------------------------------------


def test_known_code_with_its_display_is_valid(terminology: Terminology) -> None:
    result = terminology.validate(SNOMED_CT, "35489007", "Depressive disorder (disorder)")
    assert result.result
    assert result.display == "Depressive disorder (disorder)"


def test_a_wrong_display_is_invalid_and_the_right_one_is_given(terminology: Terminology) -> None:
    result = terminology.validate(LOINC, "8867-4", "Body weight")
    assert not result.result
    assert "Heart rate" in (result.message or "")
    assert result.display == "Heart rate"


def test_a_display_differing_only_in_case_is_accepted(terminology: Terminology) -> None:
    assert terminology.validate(LOINC, "8867-4", "heart rate").result


def test_an_unknown_code_is_invalid_not_an_error(terminology: Terminology) -> None:
    result = terminology.validate(ICD_10_CM, "F99.99")
    assert not result.result
    assert "not in the subset" in (result.message or "")


def test_value_set_membership(terminology: Terminology) -> None:
    conditions = VS + "psychiatric-conditions"
    assert terminology.validate_in_value_set(conditions, SNOMED_CT, "370143000").result
    assert terminology.validate_in_value_set(conditions, ICD_10_CM, "F32.1").result
    not_a_disorder = terminology.validate_in_value_set(conditions, ICD_10_CM, "R45.851")
    assert not not_a_disorder.result
    assert "is not in the value set" in (not_a_disorder.message or "")


def test_value_set_membership_checks_the_display(terminology: Terminology) -> None:
    answers = VS + "phq-gad-answers"
    assert terminology.validate_in_value_set(answers, LOINC, "LA6570-1", "More than half the days").result
    assert not terminology.validate_in_value_set(answers, LOINC, "LA6570-1", "Several days").result


def test_unknown_value_set_fails(terminology: Terminology) -> None:
    with pytest.raises(UnknownValueSet):
        terminology.validate_in_value_set(VS + "nothing", LOINC, "8867-4")


# ---- value sets and expansion ----------------------------------------------------------------------------


def test_phq_gad_answers_are_the_four_scored_answers_in_order(terminology: Terminology) -> None:
    members = terminology.members(VS + "phq-gad-answers")
    assert [(m.code, m.ordinal) for m in members] == [
        ("LA6568-5", 0),
        ("LA6569-3", 1),
        ("LA6570-1", 2),
        ("LA6571-9", 3),
    ]


def test_wearable_measures_leave_out_unverified_sleep_codes(terminology: Terminology) -> None:
    codes = {m.code for m in terminology.members(VS + "wearable-measures")}
    assert {"8867-4", "80404-7", "41950-7"} <= codes
    assert "93832-4" not in codes


def test_twin_concepts_value_set_holds_the_whole_code_system(terminology: Terminology) -> None:
    members = terminology.members(VS + "twin-concepts")
    assert {m.code for m in members} == set(terminology.code_system(TWIN).concepts)


def test_expand_filters_on_words_of_the_display(terminology: Terminology) -> None:
    expansion = terminology.expand(VS + "psychiatric-conditions", filter="bipolar")
    assert expansion.total == len(expansion.entries) > 0
    assert all("bipolar" in e.display.lower() for e in expansion.entries)


def test_expand_pages_with_offset_and_count(terminology: Terminology) -> None:
    whole = terminology.expand(VS + "psychiatric-conditions")
    page = terminology.expand(VS + "psychiatric-conditions", offset=5, count=3)
    assert page.total == whole.total
    assert page.entries == whole.entries[5:8]


def test_expand_rejects_a_negative_count(terminology: Terminology) -> None:
    with pytest.raises(BadTerminologyRequest):
        terminology.expand(VS + "phq-gad-answers", count=-1)


# ---- translation -----------------------------------------------------------------------------------------


def test_translate_icd10cm_to_snomed(terminology: Terminology) -> None:
    translation = terminology.translate(MAP, ICD_10_CM, "F32.1")
    assert translation.result
    [match] = translation.matches
    assert (match.system, match.code, match.equivalence) == (SNOMED_CT, "15639000", Equivalence.EQUIVALENT)


def test_translate_in_reverse_turns_the_equivalence_around(terminology: Terminology) -> None:
    wider = next(e for e in terminology.concept_map(MAP).elements if e.equivalence is Equivalence.WIDER)
    translation = terminology.translate(MAP, SNOMED_CT, wider.target_code or "", reverse=True)
    assert translation.result
    match = next(m for m in translation.matches if m.code == wider.source_code)
    assert (match.system, match.equivalence) == (ICD_10_CM, Equivalence.NARROWER)


def test_translate_reports_a_code_mapped_to_nothing(terminology: Terminology) -> None:
    translation = terminology.translate(MAP, ICD_10_CM, "T14.91XA")
    assert not translation.result
    assert [m.equivalence for m in translation.matches] == [Equivalence.UNMATCHED]


def test_translate_a_code_the_map_does_not_cover(terminology: Terminology) -> None:
    translation = terminology.translate(MAP, ICD_10_CM, "F32")  # a category: only its codes are mapped
    assert not translation.result
    assert not translation.matches


def test_translate_from_a_system_no_map_covers_fails(terminology: Terminology) -> None:
    with pytest.raises(UnknownConceptMap):
        terminology.translate(None, LOINC, "8867-4")


# ---- subsumption -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "outcome"),
    [
        ("F32", "F32.1", Subsumption.SUBSUMES),
        ("F32.1", "F32", Subsumption.SUBSUMED_BY),
        ("F32.1", "F32.1", Subsumption.EQUIVALENT),
        ("F32.1", "F33.1", Subsumption.NOT_SUBSUMED),
        ("F43.1", "F43.12", Subsumption.SUBSUMES),
    ],
)
def test_icd10cm_subsumption(terminology: Terminology, a: str, b: str, outcome: Subsumption) -> None:
    assert terminology.subsumes(ICD_10_CM, a, b) is outcome


def test_twin_concept_groups_subsume_their_members(terminology: Terminology) -> None:
    assert terminology.subsumes(TWIN, "insight-type", "relapse-warning") is Subsumption.SUBSUMES


def test_subsumption_needs_a_hierarchy(terminology: Terminology) -> None:
    with pytest.raises(NoHierarchy):
        terminology.subsumes(SNOMED_CT, "35489007", "370143000")


def test_subsumption_of_an_unknown_code_fails(terminology: Terminology) -> None:
    with pytest.raises(UnknownCode):
        terminology.subsumes(ICD_10_CM, "F32", "F99")


def test_descendants(terminology: Terminology) -> None:
    assert set(terminology.descendants(ICD_10_CM, "F43.1")) == {"F43.10", "F43.11", "F43.12"}
