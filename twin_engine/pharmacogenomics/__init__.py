"""CPIC-exact pharmacogenomic guidance: genotype -> phenotype -> CPIC recommendation, from tables shipped in `data/`.

Every clinical string comes verbatim from CPIC's tables (March 2024 snapshot, CC0; see `data/README.md`); only the
summarising `Action` is ours. Not for clinical use. Importing this package reads nothing: the tables load on
`PharmacogenomicsEngine.load()`.
"""

from twin_engine.pharmacogenomics.engine import PharmacogenomicsEngine
from twin_engine.pharmacogenomics.models import (
    Action,
    DrugGuidance,
    GenePhenotype,
    GuidanceStatus,
    Guideline,
    Recommendation,
)
from twin_engine.pharmacogenomics.tables import CpicTables

__all__ = [
    "Action",
    "CpicTables",
    "DrugGuidance",
    "GenePhenotype",
    "GuidanceStatus",
    "Guideline",
    "PharmacogenomicsEngine",
    "Recommendation",
]
