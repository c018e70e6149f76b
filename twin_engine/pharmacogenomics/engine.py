"""The one object callers construct: genotypes in, per-drug CPIC guidance out (phenotyper + recommender)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from twin_engine.pharmacogenomics.models import DrugGuidance, GenePhenotype
from twin_engine.pharmacogenomics.phenotyper import Phenotyper
from twin_engine.pharmacogenomics.recommender import Recommender
from twin_engine.pharmacogenomics.tables import CpicTables

Genotypes = Mapping[str, str] | Iterable[tuple[str, str]]


class PharmacogenomicsEngine:
    """CPIC guidance for a patient's genotypes; build with `PharmacogenomicsEngine.load()` (tables read once)."""

    def __init__(self, tables: CpicTables) -> None:
        self.tables = tables
        self.phenotyper = Phenotyper(tables)
        self.recommender = Recommender(tables)

    @classmethod
    def load(cls) -> PharmacogenomicsEngine:
        return cls(CpicTables.load())

    def phenotypes(self, genotypes: Genotypes) -> dict[str, GenePhenotype]:
        return self.phenotyper.phenotypes(genotypes)

    def recommend(self, drug: str, genotypes: Genotypes, population: str | None = None) -> DrugGuidance:
        """CPIC guidance for one drug; an unknown drug is a `no CPIC guideline` answer, not an error."""
        return self.recommender.recommend(drug, self.phenotypes(genotypes), population)

    def recommend_all(self, genotypes: Genotypes, population: str | None = None) -> tuple[DrugGuidance, ...]:
        """Guidance for every CPIC drug that keys on at least one gene entered and has a row for this genotype.

        `population` narrows only the guidelines that name it (e.g. `adult` narrows atomoxetine and leaves
        carbamazepine's treatment-history populations all listed).
        """
        phenotypes = self.phenotypes(genotypes)
        found = []
        for drug in self.recommender.drugs:
            if not any(g in phenotypes for g in self.recommender.genes(drug)):
                continue
            named = population is not None and self.recommender.match_population(drug, population) is not None
            applies = population if named else None
            guidance = self.recommender.recommend(drug, phenotypes, applies)
            if guidance.has_guidance:
                found.append(guidance)
        return tuple(found)
