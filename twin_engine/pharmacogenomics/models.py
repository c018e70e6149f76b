"""The answers the pharmacogenomics engine gives: frozen records whose clinical strings are CPIC's, verbatim.

Invariants:
- Every `phenotype`, `activity_score`, `lookup_key`, `classification` and recommendation text is copied from the
  shipped CPIC tables unchanged; only `Recommendation.action` is ours (see `actions.py` for its rules).
- `lookup_key` pairs are sorted by gene, so two keys are equal exactly when the CPIC JSON objects are.
- An untested gene phenotypes as `No Result`, an uncallable genotype as `Indeterminate`; both are answers, not
  errors, because the CPIC tables hold recommendation rows for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

NO_RESULT = "No Result"  # the recommendation tables' spelling for "gene not tested"
INDETERMINATE = "Indeterminate"

LookupKey = tuple[tuple[str, str], ...]


class Action(StrEnum):
    """The design vocabulary a recommendation is summarised into (plus one for "CPIC gives none")."""

    STANDARD_DOSING = "standard dosing"
    REDUCED_DOSING = "reduced dosing"
    INCREASED_DOSING = "increased dosing"
    CONSIDER_ALTERNATIVE = "consider alternative"
    CAREFUL_MONITORING = "careful monitoring"
    # Not one of the five design values: CPIC's own answer is "No recommendation" (uncallable or untested
    # genotype, or a technical row), and mapping it onto a dosing action would invent guidance.
    NO_RECOMMENDATION = "no recommendation"


class GuidanceStatus(StrEnum):
    """Why a drug query has, or has no, recommendation rows."""

    MATCHED = "matched"
    NO_GUIDELINE = "no CPIC guideline"
    NO_MATCHING_ROW = "no CPIC recommendation for this genotype"


@dataclass(frozen=True, slots=True)
class GenePhenotype:
    """One gene's phenotype as the CPIC diplotype table (or HLA status) gives it.

    `diplotype` is the table's spelling and allele order (e.g. `*1/*4` for an input of `*4/*1`); None for an
    HLA status, an untested gene, or an input whose alleles the table does not list.
    """

    gene: str
    phenotype: str
    lookup_key: str
    activity_score: str | None = None
    diplotype: str | None = None
    entered: str | None = None

    @property
    def tested(self) -> bool:
        return self.phenotype != NO_RESULT


@dataclass(frozen=True, slots=True)
class Guideline:
    """The CPIC guideline annotation a recommendation belongs to (ClinPGx/PharmGKB id and page)."""

    guideline_id: str
    name: str
    url: str
    version: str


@dataclass(frozen=True, slots=True)
class Recommendation:
    """One row of CPIC's recommendation table, plus the action we derive from it.

    `population` is None only for CPIC's technical `xN combinations` rows, which apply to every population.
    `classification` is CPIC's strength (Strong/Moderate/Optional/No recommendation), None on those rows.
    """

    recommendation_id: str
    drug: str
    population: str | None
    guideline: Guideline
    lookup_key: LookupKey
    phenotypes: tuple[tuple[str, str], ...]
    classification: str | None
    text: str
    implications: str
    other_considerations: str
    dosing_information: bool
    alternate_drug_available: bool
    other_prescribing_guidance: bool
    action: Action
    action_rule: str
    source: str = "CPIC"


@dataclass(frozen=True, slots=True)
class DrugGuidance:
    """Everything the engine can say about one drug for one genotype: CPIC rows, or an explicit absence."""

    drug: str
    status: GuidanceStatus
    phenotypes: tuple[GenePhenotype, ...] = ()
    lookup_key: LookupKey = ()
    recommendations: tuple[Recommendation, ...] = ()

    @property
    def has_guidance(self) -> bool:
        return self.status is GuidanceStatus.MATCHED
