"""Pharmacogenomics over FHIR: genotype/phenotype Observations (Genomics Reporting IG), a MedicationKnowledge
catalogue with CPIC guidance, and a RiskAssessment per candidate medication; plus the alerts CDS Hooks cards
are made of. The server calls `PgxAdvisor`; nothing here imports the server.
"""

from mappings.pharmacogenomics.advisor import (
    Alternative,
    DrugAlert,
    PatientRecord,
    PgxAdvisor,
    RecommendationQuery,
    Recommendations,
)
from mappings.pharmacogenomics.errors import (
    InvalidGenotypeError,
    PgxMappingError,
    UnknownConditionError,
    UnknownMedicationError,
)
from mappings.pharmacogenomics.genotypes import Genotype, genotype_observation, read_genotypes

__all__ = [
    "Alternative",
    "DrugAlert",
    "Genotype",
    "InvalidGenotypeError",
    "PatientRecord",
    "PgxAdvisor",
    "PgxMappingError",
    "RecommendationQuery",
    "Recommendations",
    "UnknownConditionError",
    "UnknownMedicationError",
    "genotype_observation",
    "read_genotypes",
]
