"""Drug + genotype -> CPIC rows: single and multi-gene drugs, populations, absences, and the action summary."""

from __future__ import annotations

from collections import Counter

import pytest

from twin_engine.errors import UnknownPopulationError
from twin_engine.pharmacogenomics import Action, GuidanceStatus, PharmacogenomicsEngine
from twin_engine.pharmacogenomics.actions import FALLBACK_RULE, map_action


def only(engine: PharmacogenomicsEngine, drug: str, genotypes: dict[str, str], population: str | None = None):
    guidance = engine.recommend(drug, genotypes, population)
    assert len(guidance.recommendations) == 1, guidance
    return guidance.recommendations[0]


def test_escitalopram_for_a_cyp2c19_poor_metabolizer_is_cpics_strong_switch(engine: PharmacogenomicsEngine) -> None:
    rec = only(engine, "escitalopram", {"CYP2C19": "*2/*2", "CYP2D6": "*1/*4"})
    assert (rec.classification, rec.action, rec.lookup_key) == (
        "Strong",
        Action.CONSIDER_ALTERNATIVE,
        (("CYP2C19", "Poor Metabolizer"),),
    )
    assert rec.text.startswith(
        "Consider a clinically appropriate antidepressant not predominantly metabolized by CYP2C19"
    )
    assert rec.guideline.url == "https://www.pharmgkb.org/guidelineAnnotation/PA166127638"


def test_amitriptyline_keys_on_cyp2d6_score_and_cyp2c19_phenotype_together(engine: PharmacogenomicsEngine) -> None:
    guidance = engine.recommend("amitriptyline", {"CYP2D6": "*1/*1", "CYP2C19": "*1/*1"})
    assert guidance.lookup_key == (("CYP2C19", "Normal Metabolizer"), ("CYP2D6", "2.0"))
    assert [r.action for r in guidance.recommendations] == [Action.STANDARD_DOSING]


def test_amitriptyline_with_cyp2c19_untested_uses_cpics_no_result_row(engine: PharmacogenomicsEngine) -> None:
    guidance = engine.recommend("amitriptyline", {"CYP2D6": "*4/*4"})
    assert guidance.lookup_key == (("CYP2C19", "No Result"), ("CYP2D6", "0.0"))
    assert guidance.status is GuidanceStatus.MATCHED


def test_sertraline_combines_cyp2b6_and_cyp2c19(engine: PharmacogenomicsEngine) -> None:
    rec = only(engine, "sertraline", {"CYP2B6": "*6/*6", "CYP2C19": "*2/*2"})
    assert rec.text == "Select an alternative antidepressant not primarily metabolized by CYP2C19 or CYP2B6."


def test_carbamazepine_keys_on_hla_a_and_hla_b_per_treatment_history(engine: PharmacogenomicsEngine) -> None:
    rec = only(engine, "carbamazepine", {"HLA-A": "*31:01 negative", "HLA-B": "*15:02 positive"}, "CBZ naive")
    assert (rec.text, rec.action) == (
        "If patient is carbamazepine-naïve, do not use carbamazepine.",
        Action.CONSIDER_ALTERNATIVE,
    )


def test_oxcarbazepine_negative_status_is_standard_dosing(engine: PharmacogenomicsEngine) -> None:
    rec = only(engine, "oxcarbazepine", {"HLA-B": "*15:02 negative"}, "OXC naive")
    assert rec.action is Action.STANDARD_DOSING


def test_atomoxetine_population_alias_picks_cpics_adult_row(engine: PharmacogenomicsEngine) -> None:
    rec = only(engine, "atomoxetine", {"CYP2D6": "*4/*4"}, "adult")
    assert (rec.population, rec.text[:28]) == ("adults", "Initiate with a dose of 40 m")


def test_atomoxetine_without_population_lists_both_populations(engine: PharmacogenomicsEngine) -> None:
    guidance = engine.recommend("atomoxetine", {"CYP2D6": "*4/*4"})
    assert sorted(r.population or "" for r in guidance.recommendations) == ["adults", "pediatrics"]


def test_population_the_guideline_does_not_name_is_a_typed_error(engine: PharmacogenomicsEngine) -> None:
    with pytest.raises(UnknownPopulationError, match="adults, pediatrics"):
        engine.recommend("atomoxetine", {"CYP2D6": "*4/*4"}, "elderly")


def test_population_is_ignored_for_a_guideline_with_one_population(engine: PharmacogenomicsEngine) -> None:
    assert engine.recommend("escitalopram", {"CYP2C19": "*1/*1"}, "child").has_guidance


@pytest.mark.parametrize("drug", ["bupropion", "mirtazapine", "trazodone", "duloxetine", "fluoxetine", "madeupzepam"])
def test_drugs_without_a_cpic_guideline_say_so_and_invent_nothing(engine: PharmacogenomicsEngine, drug: str) -> None:
    guidance = engine.recommend(drug, {"CYP2B6": "*6/*6", "CYP2D6": "*4/*4", "CYP2C19": "*2/*2"})
    assert (guidance.status, guidance.recommendations) == (GuidanceStatus.NO_GUIDELINE, ())


def test_single_gene_drug_with_its_gene_untested_has_no_matching_row(engine: PharmacogenomicsEngine) -> None:
    guidance = engine.recommend("nortriptyline", {"CYP2C19": "*1/*1"})
    assert (guidance.status, guidance.lookup_key) == (GuidanceStatus.NO_MATCHING_ROW, (("CYP2D6", "No Result"),))


def test_indeterminate_cyp2d6_reaches_cpics_no_recommendation_row(engine: PharmacogenomicsEngine) -> None:
    rec = only(engine, "nortriptyline", {"CYP2D6": "*1/*999"})
    assert (rec.classification, rec.text, rec.action) == (
        "No recommendation",
        "No recommendation",
        Action.NO_RECOMMENDATION,
    )


def test_xn_duplication_reaches_cpics_technical_row(engine: PharmacogenomicsEngine) -> None:
    rec = only(engine, "paroxetine", {"CYP2D6": "*1xN/*1"})
    assert (rec.population, rec.classification, rec.action) == (None, None, Action.NO_RECOMMENDATION)
    assert rec.text.startswith("xN is not a valid input")


def test_drug_names_are_case_and_space_insensitive(engine: PharmacogenomicsEngine) -> None:
    assert engine.recommend("  Escitalopram ", {"CYP2C19": "*1/*1"}).drug == "escitalopram"


def test_recommend_all_lists_only_drugs_keyed_on_an_entered_gene(engine: PharmacogenomicsEngine) -> None:
    drugs = [g.drug for g in engine.recommend_all({"CYP2C19": "*2/*2"})]
    assert "escitalopram" in drugs and "sertraline" in drugs and "amitriptyline" in drugs
    assert "nortriptyline" not in drugs and "carbamazepine" not in drugs


def test_recommend_all_narrows_only_guidelines_naming_the_population(engine: PharmacogenomicsEngine) -> None:
    by_drug = {g.drug: g for g in engine.recommend_all({"CYP2D6": "*1/*4", "HLA-B": "*15:02 negative"}, "child")}
    assert [r.population for r in by_drug["atomoxetine"].recommendations] == ["pediatrics"]
    assert len(by_drug["oxcarbazepine"].recommendations) == 2


@pytest.mark.parametrize(
    ("text", "classification", "action"),
    [
        ("Initiate therapy with recommended starting dose.", "Strong", Action.STANDARD_DOSING),
        ("Consider a 50% reduction of recommended starting dose.", "Moderate", Action.REDUCED_DOSING),
        ("Consider a clinically appropriate alternative antidepressant.", "Strong", Action.CONSIDER_ALTERNATIVE),
        (
            "Avoid tricyclic use. If a TCA is warranted, consider a 50% reduction.",
            "Strong",
            Action.CONSIDER_ALTERNATIVE,
        ),
        (
            "Initiate therapy with recommended starting dose. If patient does not adequately respond, consider "
            "titrating to a higher maintenance dose.",
            "Optional",
            Action.INCREASED_DOSING,
        ),
        (
            "Consider the use of carbamazepine with increased frequency of clinical monitoring.",
            "Optional",
            Action.CAREFUL_MONITORING,
        ),
        ("No recommendation", "Strong", Action.NO_RECOMMENDATION),
        ("xN is not a valid input", None, Action.NO_RECOMMENDATION),
    ],
)
def test_action_rules(text: str, classification: str | None, action: Action) -> None:
    assert map_action(text, classification)[0] is action


def test_every_shipped_row_maps_by_a_named_rule_and_the_counts_are_pinned(engine: PharmacogenomicsEngine) -> None:
    recs = engine.tables.recommendations
    assert not [r for r in recs if r.action_rule == FALLBACK_RULE]
    assert Counter(r.action.value for r in recs) == {
        "consider alternative": 846,
        "standard dosing": 226,
        "reduced dosing": 147,
        "no recommendation": 135,
        "careful monitoring": 50,
        "increased dosing": 6,
    }
