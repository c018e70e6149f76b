"""Drug + phenotypes -> CPIC recommendation rows, matched on the tables' own `lookup_key` JSON, nothing fuzzier.

For each drug the genes come from its rows' keys (amitriptyline: CYP2C19 and CYP2D6), the key asked for is
each gene's phenotype `lookup_key` (`No Result` when untested), and the answer is every row with exactly that
key, narrowed to a population when the guideline has several (atomoxetine adults/pediatrics, carbamazepine
"CBZ naive"…). A drug without rows is an explicit `NO_GUIDELINE`, a key without rows an explicit
`NO_MATCHING_ROW`: the engine never falls back to a neighbouring row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from twin_engine.errors import UnknownPopulationError
from twin_engine.pharmacogenomics.models import (
    NO_RESULT,
    DrugGuidance,
    GenePhenotype,
    GuidanceStatus,
    LookupKey,
    Recommendation,
)
from twin_engine.pharmacogenomics.tables import CpicTables

GENERAL_POPULATION = "general"

# Everyday words for the populations CPIC names; matching is case- and space-insensitive besides.
POPULATION_ALIASES: Mapping[str, str] = {
    "adult": "adults",
    "child": "pediatrics",
    "children": "pediatrics",
    "pediatric": "pediatrics",
    "paediatric": "pediatrics",
    "paediatrics": "pediatrics",
}


@dataclass(slots=True)
class _DrugRows:
    genes: tuple[str, ...]
    populations: set[str] = field(default_factory=set)
    by_key: dict[LookupKey, list[Recommendation]] = field(default_factory=dict)


class Recommender:
    """Index of CPIC recommendation rows by drug and lookup key, built once from `CpicTables`."""

    def __init__(self, tables: CpicTables) -> None:
        self._drugs: dict[str, _DrugRows] = {}
        for rec in tables.recommendations:
            rows = self._drugs.setdefault(rec.drug, _DrugRows(genes=tuple(g for g, _ in rec.lookup_key)))
            rows.by_key.setdefault(rec.lookup_key, []).append(rec)
            if rec.population is not None:
                rows.populations.add(rec.population)

    @property
    def drugs(self) -> tuple[str, ...]:
        return tuple(sorted(self._drugs))

    def genes(self, drug: str) -> tuple[str, ...]:
        """The genes CPIC's table keys this drug on; empty for a drug without a guideline."""
        rows = self._drugs.get(_normalise(drug))
        return rows.genes if rows else ()

    def populations(self, drug: str) -> tuple[str, ...]:
        rows = self._drugs.get(_normalise(drug))
        return tuple(sorted(rows.populations)) if rows else ()

    def match_population(self, drug: str, requested: str) -> str | None:
        """CPIC's spelling of `requested` (`adult` -> `adults`) among the drug's populations; None if absent."""
        wanted = _normalise(requested)
        wanted = POPULATION_ALIASES.get(wanted, wanted)
        return next((p for p in self.populations(drug) if _normalise(p) == wanted), None)

    def recommend(
        self, drug: str, phenotypes: Mapping[str, GenePhenotype], population: str | None = None
    ) -> DrugGuidance:
        """CPIC's rows for `drug` given per-gene phenotypes (missing genes count as untested).

        Raises:
            UnknownPopulationError: `population` is given, the guideline splits by population, and it is not one.
        """
        name = _normalise(drug)
        rows = self._drugs.get(name)
        if rows is None:
            return DrugGuidance(drug=name, status=GuidanceStatus.NO_GUIDELINE)
        used = tuple(phenotypes.get(g) or GenePhenotype(g, NO_RESULT, NO_RESULT) for g in rows.genes)
        key = tuple((p.gene, p.lookup_key) for p in used)
        chosen = self._resolve_population(name, rows.populations, population)
        matched = tuple(
            r for r in rows.by_key.get(key, ()) if chosen is None or r.population is None or r.population == chosen
        )
        status = GuidanceStatus.MATCHED if matched else GuidanceStatus.NO_MATCHING_ROW
        return DrugGuidance(drug=name, status=status, phenotypes=used, lookup_key=key, recommendations=matched)

    def _resolve_population(self, drug: str, populations: set[str], requested: str | None) -> str | None:
        """The CPIC population to keep, or None for "all rows" (no request, or a guideline with one population)."""
        if requested is None or populations <= {GENERAL_POPULATION}:
            return None
        chosen = self.match_population(drug, requested)
        if chosen is None:
            raise UnknownPopulationError(
                f"{drug}: population {requested!r} is not one of CPIC's: {', '.join(sorted(populations))}"
            )
        return chosen


def _normalise(text: str) -> str:
    return " ".join(text.casefold().split())
