"""Terminology content and a small FHIR-free API.

LOINC, SNOMED CT, RxNorm, ICD-10-CM, UCUM and HGNC subsets shipped as data (terminology/data, with their sources
and licence notices), our own twin-concepts code system, and lookup / validate / expand / translate / subsumes
over them. The FHIR server exposes these as operations; importers use them for codes.
"""

from terminology.content import CONTENT_VERSION, DEFAULT_CANONICAL_BASE
from terminology.errors import (
    BadTerminologyRequest,
    NoHierarchy,
    TerminologyError,
    UnknownCode,
    UnknownCodeSystem,
    UnknownConceptMap,
    UnknownValueSet,
)
from terminology.service import Terminology

__all__ = [
    "CONTENT_VERSION",
    "DEFAULT_CANONICAL_BASE",
    "BadTerminologyRequest",
    "NoHierarchy",
    "Terminology",
    "TerminologyError",
    "UnknownCode",
    "UnknownCodeSystem",
    "UnknownConceptMap",
    "UnknownValueSet",
]
