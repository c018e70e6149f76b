"""Read the CPIC tables shipped in `data/` (provenance in `data/README.md`) into typed, immutable lookups.

Nothing is read at import time: `CpicTables.load()` reads the packaged files once per process (cached), and a
test or benchmark can build `CpicTables.from_directory(path)` on another copy. Plain `csv` rather than pandas:
the tables are small, and the `novamind` CLI should not pay pandas' import for a lookup.

Invariants of a loaded `CpicTables`:
- `diplotypes[gene]` maps both allele orders of every listed diplotype to the one row the table lists.
- every recommendation's `lookup_key` is the parsed CPIC JSON object, sorted by gene.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Protocol

from twin_engine.pharmacogenomics.actions import map_action
from twin_engine.pharmacogenomics.models import Guideline, LookupKey, Recommendation

DIPLOTYPE_FILE = "diplotype_phenotype_cpic.csv.gz"
RECOMMENDATION_FILE = "recommendations_cpic.csv.gz"
GUIDELINE_FILE = "guidelines_cpic.csv"


class _Readable(Protocol):
    def joinpath(self, name: str) -> _Readable: ...
    def read_bytes(self) -> bytes: ...


@dataclass(frozen=True, slots=True)
class DiplotypeRow:
    """One CPIC diplotype -> phenotype row; `activity_score` is None for genes scored by phenotype alone."""

    gene: str
    diplotype: str
    allele1: str
    allele2: str
    activity_score: str | None
    phenotype: str
    lookup_key: str


@dataclass(frozen=True, slots=True)
class CpicTables:
    """The CPIC diplotype, guideline and recommendation tables, indexed for lookup."""

    diplotypes: Mapping[str, Mapping[tuple[str, str], DiplotypeRow]]
    diplotype_rows: tuple[DiplotypeRow, ...]
    recommendations: tuple[Recommendation, ...]
    data_version: str

    @classmethod
    def load(cls) -> CpicTables:
        """The tables shipped with the package (read once per process)."""
        return _load_packaged()

    @classmethod
    def from_directory(cls, directory: Path) -> CpicTables:
        return _build(directory)

    def alleles(self, gene: str) -> frozenset[str]:
        return frozenset(a for pair in self.diplotypes.get(gene, {}) for a in pair)


@cache
def _load_packaged() -> CpicTables:
    return _build(resources.files("twin_engine.pharmacogenomics").joinpath("data"))


def _build(directory: _Readable | Path) -> CpicTables:
    records = list(_records(directory, DIPLOTYPE_FILE))
    rows = tuple(_diplotype_row(r) for r in records)
    index: dict[str, dict[tuple[str, str], DiplotypeRow]] = {}
    for row in rows:
        by_pair = index.setdefault(row.gene, {})
        by_pair[(row.allele1, row.allele2)] = row
        by_pair.setdefault((row.allele2, row.allele1), row)
    guidelines = {g.guideline_id: g for g in _guidelines(directory)}
    recommendations = tuple(_recommendations(directory, guidelines))
    versions = {r["data_version"] for r in records}
    return CpicTables(
        diplotypes=index, diplotype_rows=rows, recommendations=recommendations, data_version=",".join(sorted(versions))
    )


def _records(directory: _Readable | Path, name: str) -> Iterator[dict[str, str]]:
    raw = directory.joinpath(name).read_bytes()
    if name.endswith(".gz"):
        raw = gzip.decompress(raw)
    # newline="" keeps the line breaks inside quoted recommendation texts as CPIC wrote them.
    yield from csv.DictReader(io.StringIO(raw.decode("utf-8"), newline=""))


def _diplotype_row(r: Mapping[str, str]) -> DiplotypeRow:
    return DiplotypeRow(
        gene=r["gene"],
        diplotype=r["diplotype"],
        allele1=r["allele1"],
        allele2=r["allele2"],
        activity_score=r["activity_score"] or None,
        phenotype=r["phenotype"],
        lookup_key=r["lookup_key"],
    )


def _guidelines(directory: _Readable | Path) -> Iterator[Guideline]:
    for r in _records(directory, GUIDELINE_FILE):
        yield Guideline(
            guideline_id=r["guideline_id"],
            name=r["guideline_name"],
            url=r["guideline_url"],
            version=r["guideline_version"],
        )


def parse_lookup_key(text: str) -> LookupKey:
    """CPIC's lookup-key JSON object as sorted (gene, key) pairs."""
    return tuple(sorted(json.loads(text).items()))


def _recommendations(directory: _Readable | Path, guidelines: Mapping[str, Guideline]) -> Iterator[Recommendation]:
    for r in _records(directory, RECOMMENDATION_FILE):
        key = parse_lookup_key(r["lookup_key"])
        classification = r["classification"] or None
        action, rule = map_action(r["recommendation"], classification)
        yield Recommendation(
            recommendation_id=r["recommendation_id"],
            drug=r["drug"],
            population=r["population"] or None,
            guideline=guidelines[r["guideline_id"]],
            lookup_key=key,
            phenotypes=tuple((gene, r[f"phenotype_{gene}"]) for gene, _ in key),
            classification=classification,
            text=r["recommendation"],
            implications=r["implications"],
            other_considerations=r["other_considerations"],
            dosing_information=r["dosing_information"] == "True",
            alternate_drug_available=r["alternate_drug_available"] == "True",
            other_prescribing_guidance=r["other_prescribing_guidance"] == "True",
            action=action,
            action_rule=rule,
        )
