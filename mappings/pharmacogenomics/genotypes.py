"""Genotype Observations (HL7 Genomics Reporting IG `genotype` profile): how a diplotype is stored and read back.

Stored form: `code` LOINC 84413-4 "Genotype display name", the two Genomics categories, one component 48018-6
"Gene studied [ID]" whose value is the HGNC coding (text only for a gene outside `pgx-genes.csv`), and the
diplotype in `valueCodeableConcept.text` as `CYP2C19 *2/*2` (the IG examples' display form). Reading accepts
what labs send besides: the gene in the component's coding display or text, or only in the value's text.
Only `final`, `amended` and `corrected` results count; a gene reported twice keeps the most recent result.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mappings.pharmacogenomics.codes import GENE_STUDIED, GENOMICS_SD, GENOTYPE, HGNC, LOINC, lab_categories
from terminology import Terminology, UnknownCode

REPORTABLE = frozenset({"final", "amended", "corrected"})
_GENE_PREFIX = re.compile(r"^\s*([A-Za-z][A-Za-z0-9-]*?)\s*(?=\*|\s)")


@dataclass(frozen=True, slots=True)
class Genotype:
    """One gene's diplotype as entered, and the Observation it was read from (`Observation/id`, if stored)."""

    gene: str
    diplotype: str
    reference: str | None = None
    effective: str = ""


def hgnc_coding(terminology: Terminology, gene: str) -> dict[str, str] | None:
    """The HGNC coding of `gene` from the shipped subset, or None when the subset does not hold it."""
    for concept in terminology.code_system(HGNC).concepts.values():
        if concept.display.casefold() == gene.casefold():
            return {"system": HGNC, "code": concept.code, "display": concept.display}
    return None


def genotype_observation(
    terminology: Terminology, patient_id: str, gene: str, diplotype: str, *, effective: str | None = None
) -> dict[str, Any]:
    """A genotype Observation for one gene of one patient (the input the recommendations read)."""
    coding = hgnc_coding(terminology, gene)
    gene_value: dict[str, Any] = {"coding": [coding], "text": gene} if coding else {"text": gene}
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "meta": {"profile": [f"{GENOMICS_SD}/genotype"]},
        "status": "final",
        "category": lab_categories(),
        "code": {"coding": [{"system": LOINC, "code": GENOTYPE, "display": "Genotype display name"}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "valueCodeableConcept": {"text": f"{gene} {diplotype}"},
        "component": [
            {
                "code": {"coding": [{"system": LOINC, "code": GENE_STUDIED, "display": "Gene studied [ID]"}]},
                "valueCodeableConcept": gene_value,
            }
        ],
    }
    if effective:
        resource["effectiveDateTime"] = effective
    return resource


def _has_code(concept: Mapping[str, Any] | None, system: str, code: str) -> bool:
    return any(c.get("system") == system and c.get("code") == code for c in (concept or {}).get("coding", []))


def _gene_of(observation: Mapping[str, Any], terminology: Terminology) -> str | None:
    for component in observation.get("component", []):
        if not _has_code(component.get("code"), LOINC, GENE_STUDIED):
            continue
        value = component.get("valueCodeableConcept") or {}
        for coding in value.get("coding", []):
            if coding.get("system") == HGNC and coding.get("code"):
                try:
                    return terminology.concept(HGNC, coding["code"]).display
                except UnknownCode:
                    pass
            if coding.get("display"):
                return str(coding["display"])
        if value.get("text"):
            return str(value["text"]).strip()
    text = (observation.get("valueCodeableConcept") or {}).get("text") or ""
    match = _GENE_PREFIX.match(text)
    return match.group(1) if match else None


def _diplotype_of(observation: Mapping[str, Any], gene: str) -> str | None:
    value = observation.get("valueCodeableConcept") or {}
    texts = [value.get("text")] + [c.get("display") for c in value.get("coding", [])]
    text = next((t for t in texts if t), None) or observation.get("valueString")
    if not text:
        return None
    return re.sub(rf"^\s*{re.escape(gene)}\s*", "", str(text), flags=re.IGNORECASE).strip() or None


def _effective(observation: Mapping[str, Any]) -> str:
    return str(observation.get("effectiveDateTime") or observation.get("issued") or "")


def is_genotype(observation: Mapping[str, Any]) -> bool:
    return observation.get("resourceType") == "Observation" and _has_code(observation.get("code"), LOINC, GENOTYPE)


def read_genotypes(observations: Iterable[Mapping[str, Any]], terminology: Terminology) -> tuple[Genotype, ...]:
    """The patient's genotypes, one per gene (the latest reportable result), sorted by gene."""
    latest: dict[str, Genotype] = {}
    for obs in observations:
        if not is_genotype(obs) or obs.get("status") not in REPORTABLE:
            continue
        gene = _gene_of(obs, terminology)
        diplotype = _diplotype_of(obs, gene) if gene else None
        if not gene or not diplotype:
            continue
        ref = f"Observation/{obs['id']}" if obs.get("id") else None
        found = Genotype(gene, diplotype, ref, _effective(obs))
        key = gene.upper()
        current = latest.get(key)
        if current is None or (found.effective, found.reference or "") > (current.effective, current.reference or ""):
            latest[key] = found
    return tuple(sorted(latest.values(), key=lambda g: g.gene))
