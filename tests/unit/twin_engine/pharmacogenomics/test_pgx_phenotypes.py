"""Genotype -> phenotype: the README's spot checks, input spellings, and what cannot be called."""

from __future__ import annotations

import pytest

from twin_engine.errors import MalformedDiplotypeError, PharmacogenomicInputError, UnknownGeneError
from twin_engine.pharmacogenomics import PharmacogenomicsEngine


@pytest.mark.parametrize(
    ("diplotype", "phenotype"),
    [
        ("*2/*2", "Poor Metabolizer"),
        ("*1/*17", "Rapid Metabolizer"),
        ("*17/*17", "Ultrarapid Metabolizer"),
        ("*2/*17", "Intermediate Metabolizer"),
    ],
)
def test_cyp2c19_spot_checks_match_cpic(engine: PharmacogenomicsEngine, diplotype: str, phenotype: str) -> None:
    assert engine.phenotyper.phenotype("CYP2C19", diplotype).phenotype == phenotype


@pytest.mark.parametrize(
    ("diplotype", "score", "phenotype"),
    [
        ("*1/*4", "1.0", "Intermediate Metabolizer"),
        ("*4/*4", "0.0", "Poor Metabolizer"),
        ("*1/*1x2", "3.0", "Ultrarapid Metabolizer"),
        ("*1/*10", "1.25", "Normal Metabolizer"),
        ("*10/*10", "0.5", "Intermediate Metabolizer"),
        ("*4/*41", "0.25", "Intermediate Metabolizer"),
    ],
)
def test_cyp2d6_spot_checks_match_cpic_activity_scores(
    engine: PharmacogenomicsEngine, diplotype: str, score: str, phenotype: str
) -> None:
    found = engine.phenotyper.phenotype("CYP2D6", diplotype)
    assert (found.activity_score, found.phenotype, found.lookup_key) == (score, phenotype, score)


@pytest.mark.parametrize(
    ("diplotype", "phenotype"),
    [
        ("*6/*6", "Poor Metabolizer"),
        ("*1/*6", "Intermediate Metabolizer"),
        ("*1/*4", "Rapid Metabolizer"),
        ("*4/*4", "Ultrarapid Metabolizer"),
    ],
)
def test_cyp2b6_spot_checks_match_cpic(engine: PharmacogenomicsEngine, diplotype: str, phenotype: str) -> None:
    assert engine.phenotyper.phenotype("CYP2B6", diplotype).phenotype == phenotype


def test_reversed_allele_order_answers_in_the_tables_order(engine: PharmacogenomicsEngine) -> None:
    found = engine.phenotyper.phenotype("CYP2D6", "*4/*1")
    assert (found.diplotype, found.activity_score, found.entered) == ("*1/*4", "1.0", "*4/*1")


@pytest.mark.parametrize("spelling", [" *1 / *1X2 ", "CYP2D6*1/CYP2D6*1x2", "*1/*1x2\n"])
def test_whitespace_case_and_gene_prefix_are_forgiven(engine: PharmacogenomicsEngine, spelling: str) -> None:
    assert engine.phenotyper.phenotype("cyp2d6", spelling).diplotype == "*1/*1x2"


def test_ascii_greater_or_equal_reads_as_the_tables_sign(engine: PharmacogenomicsEngine) -> None:
    found = engine.phenotyper.phenotype("CYP2D6", "*1/*1x>=3")
    assert (found.diplotype, found.activity_score) == ("*1/*1x≥3", "≥4.0")


def test_unlisted_cyp2d6_allele_is_indeterminate_with_the_tables_n_a_key(engine: PharmacogenomicsEngine) -> None:
    found = engine.phenotyper.phenotype("CYP2D6", "*1/*999")
    assert (found.phenotype, found.lookup_key, found.activity_score, found.diplotype) == (
        "Indeterminate",
        "n/a",
        "n/a",
        None,
    )


def test_unlisted_cyp2c19_allele_is_indeterminate(engine: PharmacogenomicsEngine) -> None:
    found = engine.phenotyper.phenotype("CYP2C19", "*1/*99")
    assert (found.phenotype, found.lookup_key) == ("Indeterminate", "Indeterminate")


def test_tandem_allele_parses_but_is_indeterminate_because_this_snapshot_does_not_list_it(
    engine: PharmacogenomicsEngine,
) -> None:
    assert engine.phenotyper.phenotype("CYP2D6", "*36+*10/*1").lookup_key == "n/a"


def test_duplication_of_unknown_count_gets_cpics_xn_key(engine: PharmacogenomicsEngine) -> None:
    found = engine.phenotyper.phenotype("CYP2D6", "*2xN/*4")
    assert (found.phenotype, found.lookup_key) == ("Indeterminate", "xN combinations")


def test_untested_gene_is_no_result(engine: PharmacogenomicsEngine) -> None:
    guidance = engine.recommend("nortriptyline", {"CYP2C19": "*1/*1"})
    assert [(p.gene, p.phenotype, p.tested) for p in guidance.phenotypes] == [("CYP2D6", "No Result", False)]


@pytest.mark.parametrize(
    ("entered", "key"),
    [
        ("*15:02 positive", "*15:02 positive"),
        ("HLA-B*15:02 Negative", "*15:02 negative"),
        ("positive", "*15:02 positive"),
        ("*15:02:01/*07:02", "*15:02 positive"),
        ("*07:02/*44:03", "*15:02 negative"),
    ],
)
def test_hla_b_status_reads_as_cpics_key(engine: PharmacogenomicsEngine, entered: str, key: str) -> None:
    assert engine.phenotyper.phenotype("HLA-B", entered).lookup_key == key


def test_hla_status_for_an_allele_cpic_does_not_key_on_is_rejected(engine: PharmacogenomicsEngine) -> None:
    with pytest.raises(MalformedDiplotypeError, match=r"\*15:02"):
        engine.phenotyper.phenotype("HLA-B", "*57:01 positive")


def test_unknown_gene_is_a_typed_error(engine: PharmacogenomicsEngine) -> None:
    with pytest.raises(UnknownGeneError, match="CYP3A4"):
        engine.phenotyper.phenotype("CYP3A4", "*1/*1")


@pytest.mark.parametrize("text", ["*1", "*1/*2/*3", "1/4", "*1/", "", "*1|*4"])
def test_malformed_diplotype_is_a_typed_error(engine: PharmacogenomicsEngine, text: str) -> None:
    with pytest.raises(MalformedDiplotypeError):
        engine.phenotyper.phenotype("CYP2D6", text)


def test_the_same_gene_entered_twice_is_rejected(engine: PharmacogenomicsEngine) -> None:
    with pytest.raises(PharmacogenomicInputError, match="twice"):
        engine.phenotypes([("CYP2D6", "*1/*1"), ("cyp2d6", "*4/*4")])
