"""The candidate medications the response model knows: class and metabolising gene(s), as labels/CPIC state them.

This is prescriber knowledge (which enzyme clears the drug), not the simulator's planted fold-changes: the model
uses it only to pick which phenotype is relevant to a drug, and exposure recovery to know which genes to
regress on. `test_pgx_response_simulator.py` checks it names the simulator's drugs and genes.
"""

from __future__ import annotations

from dataclasses import dataclass

from twin_engine.pharmacogenomics.response.errors import UnknownMedicationError

ANTIDEPRESSANT_CLASSES = frozenset({"SSRI", "SNRI", "NDRI", "NaSSA", "multimodal"})


@dataclass(frozen=True)
class MedicationInfo:
    """One candidate: `genes` are the panel genes (CYP2D6/CYP2C19/CYP2B6) that clear it, primary first."""

    name: str
    drug_class: str
    genes: tuple[str, ...]

    @property
    def antidepressant(self) -> bool:
        return self.drug_class in ANTIDEPRESSANT_CLASSES


CATALOGUE: tuple[MedicationInfo, ...] = (
    MedicationInfo("escitalopram", "SSRI", ("CYP2C19",)),
    MedicationInfo("citalopram", "SSRI", ("CYP2C19",)),
    MedicationInfo("sertraline", "SSRI", ("CYP2C19", "CYP2B6")),
    MedicationInfo("paroxetine", "SSRI", ("CYP2D6",)),
    MedicationInfo("fluoxetine", "SSRI", ("CYP2D6",)),
    MedicationInfo("venlafaxine", "SNRI", ("CYP2D6",)),
    MedicationInfo("duloxetine", "SNRI", ()),  # CYP1A2/CYP2D6; no panel gene with CPIC guidance
    MedicationInfo("bupropion", "NDRI", ("CYP2B6",)),
    MedicationInfo("mirtazapine", "NaSSA", ()),
    MedicationInfo("vortioxetine", "multimodal", ("CYP2D6",)),
    MedicationInfo("aripiprazole", "atypical antipsychotic", ("CYP2D6",)),
    MedicationInfo("quetiapine", "atypical antipsychotic", ()),  # CYP3A4
    MedicationInfo("lithium", "mood stabiliser", ()),  # renal
    MedicationInfo("lamotrigine", "mood stabiliser", ()),  # glucuronidation
)
NAMES: tuple[str, ...] = tuple(m.name for m in CATALOGUE)
MAX_GENES_PER_DRUG = 2


def info(name: str) -> MedicationInfo:
    """Catalogue entry of `name` (case-insensitive)."""
    key = name.strip().lower()
    for m in CATALOGUE:
        if m.name == key:
            return m
    raise UnknownMedicationError(f"unknown medication {name!r}; the model knows {list(NAMES)}")
