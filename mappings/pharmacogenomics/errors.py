"""Typed errors of the pharmacogenomics mappings; the server turns them into OperationOutcomes.

Hierarchy::

    PgxMappingError                 the request or the record cannot be answered as given
    ├── UnknownMedicationError      a medication neither CPIC's tables nor the response model know
    ├── UnknownConditionError       a `condition` the response model has no diagnosis for
    └── InvalidGenotypeError        a stored genotype whose diplotype cannot be read
"""

from __future__ import annotations


class PgxMappingError(Exception):
    """Base class of the pharmacogenomics mapping errors."""


class UnknownMedicationError(PgxMappingError):
    """The medication is in neither the CPIC tables nor the response model's catalogue."""


class UnknownConditionError(PgxMappingError):
    """The condition maps to no diagnosis the response model knows (MDD, GAD, bipolar depression)."""


class InvalidGenotypeError(PgxMappingError):
    """A genotype Observation's diplotype is not a star-allele pair or HLA status."""
