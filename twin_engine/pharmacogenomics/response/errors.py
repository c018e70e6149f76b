"""Typed errors of the medication response model.

Hierarchy::

    TwinEngineError
    └── MedicationResponseError        the response model cannot answer this request
        ├── UnknownMedicationError     a candidate outside the model's medication catalogue
        └── InvalidPatientProfileError a profile with an unknown diagnosis, comorbidity or phenotype
"""

from __future__ import annotations

from twin_engine.errors import TwinEngineError


class MedicationResponseError(TwinEngineError):
    """Base class of the response model's errors."""


class UnknownMedicationError(MedicationResponseError):
    """The medication is not one the model was trained on (see `catalogue.CATALOGUE`)."""


class InvalidPatientProfileError(MedicationResponseError):
    """A patient profile names a diagnosis, comorbidity or phenotype the model does not know."""
