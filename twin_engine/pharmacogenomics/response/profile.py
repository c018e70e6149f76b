"""`PatientProfile`: what a prescriber knows about one patient, turned into one episode row per candidate drug.

Invariants: `prior_failures` is capped at `MAX_PRIOR_FAILURES` (the most the training cohorts contain);
`prior_same_class_failure` is set per candidate when a failed medication shares its drug class. Phenotypes may
be CPIC strings ("Poor Metabolizer") or codes ("PM"); a missing, untested or indeterminate gene is unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from twin_engine.pharmacogenomics.response import catalogue
from twin_engine.pharmacogenomics.response.errors import InvalidPatientProfileError, UnknownMedicationError
from twin_engine.pharmacogenomics.response.features import phenotype_category
from twin_engine.simulate import pgx_cohort as cols

MAX_PRIOR_FAILURES = 4


@dataclass(frozen=True)
class PatientProfile:
    """Diagnosis, demographics, comorbidities (names in `pgx_cohort.COMORBIDITIES`), history and phenotypes."""

    diagnosis: str
    age: int
    female: bool
    phenotypes: Mapping[str, str | None] = field(default_factory=dict)
    comorbidities: frozenset[str] = frozenset()
    failed_medications: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.diagnosis not in cols.DIAGNOSES:
            raise InvalidPatientProfileError(f"diagnosis {self.diagnosis!r} not in {list(cols.DIAGNOSES)}")
        unknown = set(self.comorbidities) - set(cols.COMORBIDITIES)
        if unknown:
            raise InvalidPatientProfileError(f"comorbidities {sorted(unknown)} not in {list(cols.COMORBIDITIES)}")
        genes = set(self.phenotypes) - set(cols.GENES)
        if genes:
            raise InvalidPatientProfileError(f"genes {sorted(genes)} not in {list(cols.GENES)}")
        for value in self.phenotypes.values():
            phenotype_category(value)  # raises on a non-metabolizer phenotype

    def _failed_classes(self) -> set[str]:
        classes = set()
        for name in self.failed_medications:
            try:
                classes.add(catalogue.info(name).drug_class)
            except UnknownMedicationError:
                continue  # a drug outside the catalogue still counts as a failed trial, with no class
        return classes

    def episodes(self, candidates: tuple[str, ...]) -> pd.DataFrame:
        """One row per candidate, in the column layout of `pgx_cohort` episodes."""
        meds = [catalogue.info(c) for c in candidates]
        failed = self._failed_classes()
        rows = {
            cols.MEDICATION: [m.name for m in meds],
            cols.DIAGNOSIS: self.diagnosis,
            cols.AGE: self.age,
            cols.FEMALE: int(self.female),
            cols.PRIOR_FAILURES: min(len(self.failed_medications), MAX_PRIOR_FAILURES),
            cols.PRIOR_SAME_CLASS_FAILURE: [int(m.drug_class in failed) for m in meds],
            **{c: int(c in self.comorbidities) for c in cols.COMORBIDITIES},
            **{g: phenotype_category(self.phenotypes.get(g)) for g in cols.GENES},
        }
        return pd.DataFrame(rows, index=pd.RangeIndex(len(meds)))
