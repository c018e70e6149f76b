"""Phenotype Observations, the software Device and the MedicationKnowledge catalogue, built from CPIC answers.

Phenotype: a Genomics IG TherapeuticImplication without `medication-assessed` (the IG puts metabolizer status in
its `therapeutic-implication` component; a drug-independent per-gene phenotype is this project's convention, see
`terminology/data/NOTES.md` §6), derived from the genotype Observation. MedicationKnowledge: RxNorm code and
ATC class from `terminology/data/rxnorm.csv` (text only where the subset has no row), one
`administrationGuidelines` entry per CPIC recommendation row with the phenotypes it applies to in
`patientCharacteristics` and CPIC's text verbatim in the dosage text.
https://hl7.org/fhir/R4/medicationknowledge.html
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mappings.ids import slug, stable_id
from mappings.pharmacogenomics.codes import (
    ATC,
    CONCLUSION_STRING,
    GENE_STUDIED,
    GENOMICS_SD,
    GENOMICS_TBD,
    LOINC,
    RELATED_ARTIFACT,
    RXNORM,
    THERAPEUTIC_IMPLICATION,
    lab_categories,
    metabolizer_concept,
)
from mappings.pharmacogenomics.genotypes import Genotype, hgnc_coding
from mappings.twin.device import software_device
from terminology import Terminology
from twin_engine.pharmacogenomics import GenePhenotype, Guideline, Recommendation

_TI_CODE = {"system": GENOMICS_TBD, "code": THERAPEUTIC_IMPLICATION, "display": "Therapeutic Implication"}


def phenotype_id(patient_id: str, gene: str) -> str:
    return stable_id("pgx-phenotype", patient_id, gene)


def phenotype_observation(
    terminology: Terminology,
    patient_id: str,
    phenotype: GenePhenotype,
    genotype: Genotype,
    device_id: str,
    data_version: str,
) -> dict[str, Any]:
    """One gene's CPIC phenotype for one patient, derived from its genotype Observation."""
    gene = phenotype.gene
    coding = hgnc_coding(terminology, gene)
    conclusion = f"{gene} {phenotype.diplotype or phenotype.entered}: {phenotype.phenotype}"
    if phenotype.activity_score and phenotype.activity_score != "n/a":
        conclusion += f" (activity score {phenotype.activity_score})"
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": phenotype_id(patient_id, gene),
        "meta": {"profile": [f"{GENOMICS_SD}/therapeutic-implication"]},
        "status": "final",
        "category": lab_categories(),
        "code": {"coding": [_TI_CODE], "text": f"{gene} metabolizer phenotype (CPIC)"},
        "subject": {"reference": f"Patient/{patient_id}"},
        "device": {"reference": f"Device/{device_id}"},
        "method": {"text": f"CPIC diplotype-phenotype table, data version {data_version}"},
        "component": [
            {"code": {"coding": [_TI_CODE]}, "valueCodeableConcept": metabolizer_concept(gene, phenotype.phenotype)},
            {
                "code": {"coding": [{"system": LOINC, "code": GENE_STUDIED, "display": "Gene studied [ID]"}]},
                "valueCodeableConcept": {"coding": [coding], "text": gene} if coding else {"text": gene},
            },
            {
                "code": {"coding": [{"system": GENOMICS_TBD, "code": CONCLUSION_STRING}]},
                "valueString": conclusion,
            },
        ],
    }
    if genotype.reference:
        resource["derivedFrom"] = [{"reference": genotype.reference}]
    if genotype.effective:
        resource["effectiveDateTime"] = genotype.effective
    return resource


def device_id(cpic_version: str, model_version: str | None, model_hash: str | None) -> str:
    return stable_id("novamind-pgx", cpic_version, model_version or "", model_hash or "")


def device(cpic_version: str, model_version: str | None, model_hash: str | None) -> dict[str, Any]:
    """The software that made the results: CPIC table version and the response model's version and hash."""
    versions = [("CPIC tables data version", cpic_version)]
    if model_version:
        versions.append(("medication-response model", model_version))
    if model_hash:
        versions.append(("medication-response model content SHA-256", model_hash))
    return software_device(
        device_id(cpic_version, model_version, model_hash), "NovaMind Twin pharmacogenomics", versions
    )


def knowledge_id(drug: str) -> str:
    return f"pgx-{slug(drug)}"


def rxnorm_coding(terminology: Terminology, drug: str) -> dict[str, str] | None:
    """The RxNorm ingredient coding of `drug` from the shipped subset; None when the subset has no row for it."""
    for concept in terminology.code_system(RXNORM).concepts.values():
        if concept.display.casefold() == drug.casefold():
            return {"system": RXNORM, "code": concept.code, "display": concept.display}
    return None


def _classification(terminology: Terminology, coding: dict[str, str] | None, fallback: str | None) -> list[Any]:
    drug_class, atc = fallback, None
    if coding is not None:
        concept = terminology.concept(RXNORM, coding["code"])
        drug_class = str(concept.property("drug-class") or fallback or "") or None
        atc = concept.property("atc")
    out: list[dict[str, Any]] = []
    if drug_class:
        out.append({"type": {"text": "Drug class"}, "classification": [{"text": drug_class}]})
    if atc:
        out.append({"type": {"text": "ATC"}, "classification": [{"coding": [{"system": ATC, "code": str(atc)}]}]})
    return out


def _guideline_entry(rec: Recommendation) -> dict[str, Any]:
    characteristics: list[dict[str, Any]] = [
        {"characteristicCodeableConcept": metabolizer_concept(gene, phen), "value": [f"{gene}: {phen}"]}
        for gene, phen in rec.phenotypes
    ]
    if rec.population and rec.population != "general":
        population = {"characteristicCodeableConcept": {"text": "CPIC population"}, "value": [rec.population]}
        characteristics.append(population)
    return {
        "dosage": [
            {
                "type": {"text": f"CPIC recommendation; strength {rec.classification}; action {rec.action.value}"},
                "dosage": [{"text": rec.text}],
            }
        ],
        "patientCharacteristics": characteristics,
    }


def _related(guidelines: Iterable[Guideline]) -> list[dict[str, Any]]:
    unique = {g.url: g for g in guidelines}
    return [
        {
            "url": RELATED_ARTIFACT,
            "valueRelatedArtifact": {"type": "citation", "label": g.name, "display": g.name, "url": g.url},
        }
        for g in sorted(unique.values(), key=lambda g: g.url)
    ]


def medication_knowledge(
    terminology: Terminology, drug: str, rows: Iterable[Recommendation], drug_class: str | None = None
) -> dict[str, Any]:
    """The catalogue entry of one drug, with every CPIC recommendation that carries a strength."""
    clinical = [r for r in rows if r.classification]
    coding = rxnorm_coding(terminology, drug)
    resource: dict[str, Any] = {
        "resourceType": "MedicationKnowledge",
        "id": knowledge_id(drug),
        "code": {"coding": [coding], "text": drug} if coding else {"text": drug},
        "status": "active",
    }
    classification = _classification(terminology, coding, drug_class)
    if classification:
        resource["medicineClassification"] = classification
    if clinical:
        resource["extension"] = _related(r.guideline for r in clinical)
        resource["administrationGuidelines"] = [_guideline_entry(r) for r in clinical]
    return resource
