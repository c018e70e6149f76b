"""Every CPIC diplotype row and every CPIC recommendation row, answered exactly by the engine.

Reads the shared originals (the `reference_dir` fixture) with plain `csv`, independently of the engine's reader.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from twin_engine.pharmacogenomics import PharmacogenomicsEngine
from twin_engine.pharmacogenomics.tables import DIPLOTYPE_FILE, GUIDELINE_FILE, RECOMMENDATION_FILE

DATA = resources.files("twin_engine.pharmacogenomics").joinpath("data")


def _cpic_lines(path: Path) -> str:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    return lines[0] + "".join(line for line in lines[1:] if line.startswith("CPIC,"))


def test_shipped_recommendations_are_the_shared_file_byte_for_byte(reference_dir: Path) -> None:
    shipped = gzip.decompress(DATA.joinpath(RECOMMENDATION_FILE).read_bytes())
    assert shipped == (reference_dir / "recommendations_cpic.csv").read_bytes()


def test_shipped_diplotypes_are_the_shared_cpic_rows(reference_dir: Path) -> None:
    shipped = gzip.decompress(DATA.joinpath(DIPLOTYPE_FILE).read_bytes()).decode("utf-8")
    assert shipped == _cpic_lines(reference_dir / "diplotype_phenotype.csv")


def test_shipped_guidelines_are_the_shared_cpic_rows(reference_dir: Path) -> None:
    assert DATA.joinpath(GUIDELINE_FILE).read_text(encoding="utf-8") == _cpic_lines(reference_dir / "guidelines.csv")


def test_every_cpic_diplotype_row_phenotypes_exactly(
    engine: PharmacogenomicsEngine, cpic_diplotypes: list[dict[str, str]]
) -> None:
    wrong = []
    for row in cpic_diplotypes:
        expected = (row["phenotype"], row["activity_score"] or None, row["lookup_key"], row["diplotype"])
        found = engine.phenotyper.phenotype(row["gene"], row["diplotype"])
        if (found.phenotype, found.activity_score, found.lookup_key, found.diplotype) != expected:
            wrong.append((row["gene"], row["diplotype"], expected, found))
    assert wrong == []
    assert len(cpic_diplotypes) == 16_075


def test_every_cpic_diplotype_row_phenotypes_the_same_with_alleles_swapped(
    engine: PharmacogenomicsEngine, cpic_diplotypes: list[dict[str, str]]
) -> None:
    wrong = [
        row["diplotype"]
        for row in cpic_diplotypes
        if engine.phenotyper.phenotype(row["gene"], f"{row['allele2']}/{row['allele1']}").diplotype != row["diplotype"]
    ]
    assert wrong == []


def _genotype_reaching(key: dict[str, str], diplotypes: list[dict[str, str]]) -> Iterator[tuple[str, str]]:
    """A genotype whose phenotype lookup keys are `key`: a table diplotype with that key, an HLA status, an
    `xN` duplication, or no entry at all for `No Result`."""
    for gene, wanted in key.items():
        if wanted == "No Result":
            continue
        if gene.startswith("HLA-"):
            yield gene, wanted
        elif wanted == "xN combinations":
            yield gene, "*1xN/*4"
        else:
            yield gene, next(r["diplotype"] for r in diplotypes if r["gene"] == gene and r["lookup_key"] == wanted)


def test_every_cpic_recommendation_row_is_returned_for_a_genotype_reaching_its_key(
    engine: PharmacogenomicsEngine, cpic_diplotypes: list[dict[str, str]], cpic_recommendations: list[dict[str, str]]
) -> None:
    wrong = []
    for row in cpic_recommendations:
        genotype = list(_genotype_reaching(json.loads(row["lookup_key"]), cpic_diplotypes))
        guidance = engine.recommend(row["drug"], genotype, population=row["population"] or None)
        ids = [r.recommendation_id for r in guidance.recommendations]
        texts = [r.text for r in guidance.recommendations]
        if ids != [row["recommendation_id"]] or texts != [row["recommendation"]]:
            wrong.append((row["drug"], row["population"], row["lookup_key"], ids))
    assert wrong == []
    assert len(cpic_recommendations) == 1_410
