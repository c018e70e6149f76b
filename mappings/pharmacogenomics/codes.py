"""Systems and codes the pharmacogenomics resources use, each one found in `terminology/data` or the Genomics IG.

LOINC codes are rows of `terminology/data/loinc.csv` (84413-4, 48018-6, 51963-7) and the metabolizer answers rows
of `loinc-answers.csv` (`GeneticTherapeuticImplicationsVS`); HGNC ids come from `pgx-genes.csv`. The Genomics
Reporting IG's own `tbd-codes-cs#therapeutic-implication` (its code for the TherapeuticImplication profile and
component; see `terminology/data/NOTES.md` §6) is the IG's, not ours. What no shipped table codes (the CPIC
strength, the action, a gene outside `pgx-genes.csv`) goes in text, never under an invented code.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

LOINC = "http://loinc.org"
HGNC = "http://www.genenames.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DIAGNOSTIC_SERVICE = "http://terminology.hl7.org/CodeSystem/v2-0074"
GENOMICS_TBD = "http://hl7.org/fhir/uv/genomics-reporting/CodeSystem/tbd-codes-cs"
GENOMICS_SD = "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition"
RELATED_ARTIFACT = "http://hl7.org/fhir/StructureDefinition/workflow-relatedArtifact"

GENOTYPE = "84413-4"  # Genotype display name (Genomics IG Genotype profile code)
GENE_STUDIED = "48018-6"  # Gene studied [ID]
MEDICATION_ASSESSED = "51963-7"  # Medication assessed [ID]
THERAPEUTIC_IMPLICATION = "therapeutic-implication"
CONCLUSION_STRING = "conclusion-string"

# CPIC's metabolizer phenotypes -> the LOINC answers the IG's therapeutic-implication value set holds
# ("Likely" calls keep their own text; the coding says which category they are read as).
METABOLIZER_ANSWERS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "ultrarapid metabolizer": ("LA10315-2", "Ultrarapid metabolizer"),
        "rapid metabolizer": ("LA25390-8", "Rapid metabolizer"),
        "normal metabolizer": ("LA25391-6", "Normal metabolizer"),
        "intermediate metabolizer": ("LA10317-8", "Intermediate metabolizer"),
        "likely intermediate metabolizer": ("LA10317-8", "Intermediate metabolizer"),
        "poor metabolizer": ("LA9657-3", "Poor metabolizer"),
        "likely poor metabolizer": ("LA9657-3", "Poor metabolizer"),
    }
)

# Our own canonical paths (under the configurable canonical base).
IDENTIFIER_PATH = "sid/pgx"
MEDICATION_RESPONSE = "medication-response"
SIDE_EFFECT_RISK = "medication-side-effect-risk"


def lab_categories() -> list[dict[str, object]]:
    """The two categories every Genomics IG Observation carries (GenomicBase)."""
    return [
        {"coding": [{"system": OBSERVATION_CATEGORY, "code": "laboratory", "display": "Laboratory"}]},
        {"coding": [{"system": DIAGNOSTIC_SERVICE, "code": "GE", "display": "Genetics"}]},
    ]


def metabolizer_concept(gene: str, phenotype: str) -> dict[str, object]:
    """The phenotype as a CodeableConcept: the LOINC answer when CPIC's term maps onto one, CPIC's text always."""
    concept: dict[str, object] = {"text": f"{gene} {phenotype}"}
    answer = METABOLIZER_ANSWERS.get(phenotype.casefold())
    if answer is not None:
        concept["coding"] = [{"system": LOINC, "code": answer[0], "display": answer[1]}]
    return concept
