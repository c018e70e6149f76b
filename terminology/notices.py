"""Licence notices that must travel with the content (README, and `copyright` of every FHIR artefact).

The wording is the one given with the source tables (terminology/data/SOURCES.md), not paraphrased.
"""

from __future__ import annotations

LOINC = (
    "This material contains content from LOINC (http://loinc.org). LOINC is copyright © 1995-2026, Regenstrief "
    "Institute, Inc. and the Logical Observation Identifiers Names and Codes (LOINC) Committee and is available "
    "at no cost under the license at http://loinc.org/license. LOINC® is a registered United States trademark of "
    "Regenstrief Institute, Inc."
)
SNOMED_CT = (
    "This material includes SNOMED Clinical Terms® (SNOMED CT®), which is copyright © 2002+ International Health "
    "Terminology Standards Development Organisation (IHTSDO, trading as SNOMED International). SNOMED CT content "
    "in FHIR artefacts is distributed under agreement between SNOMED International and HL7; implementer use of "
    "SNOMED CT is not covered by that agreement. Production use requires an Affiliate licence."
)
ICD_10_CM = (
    "ICD-10-CM is published by the U.S. National Center for Health Statistics (CDC) and CMS; the WHO ICD-10 base "
    "classification has its own copyright."
)
RXNORM = (
    "RxNorm is produced by the U.S. National Library of Medicine; NLM's RxNorm terms of use apply (UMLS licence "
    "terms apply to some source vocabularies)."
)
UCUM = (
    "UCUM is copyright © Regenstrief Institute, Inc. and The UCUM Organization; used under the UCUM Copyright "
    "Notice and License (Version 1.0), https://ucum.org/license."
)
HGNC = "HGNC gene identifiers from the HUGO Gene Nomenclature Committee (www.genenames.org), as used by CPIC (CC0)."
INSTRUMENTS = (
    "PHQ-9, PHQ-2 and GAD-7: Developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and "
    "colleagues, with an educational grant from Pfizer Inc. No permission required to reproduce, translate, "
    "display or distribute."
)
NOVAMIND = "Written by the NovaMind Twin project; free to use with the NovaMind Twin server."
