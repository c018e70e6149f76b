"""Typed errors raised by the twin engine; callers map them to their own edge (FHIR, CLI).

Hierarchy::

    TwinEngineError
    ├── FrameSchemaError        a frame lacks columns, has wrong dtypes, or is empty
    ├── InsufficientDataError   too little history for the requested operation
    ├── NotFittedError          a model was asked to forecast before fit()/load
    ├── ModelArtifactError      a registry artifact is missing, corrupted or mismatched
    ├── DeviceUnavailableError  a compute device was requested that this machine lacks
    └── PharmacogenomicInputError   a genotype request the CPIC tables cannot be asked
        ├── UnknownGeneError        a gene name outside the shipped CPIC tables
        ├── MalformedDiplotypeError a diplotype or HLA status string that does not parse
        └── UnknownPopulationError  a population the drug's guideline does not name
"""

from __future__ import annotations


class TwinEngineError(Exception):
    """Base class for every error the twin engine raises on purpose."""


class FrameSchemaError(TwinEngineError):
    """A frame does not satisfy the contract in `twin_engine.frames`."""


class InsufficientDataError(TwinEngineError):
    """The history is too short to produce the requested result."""


class NotFittedError(TwinEngineError):
    """A model was used before it was fitted or loaded."""


class ModelArtifactError(TwinEngineError):
    """A registry artifact is missing, corrupted, or does not match what was asked for."""


class DeviceUnavailableError(TwinEngineError):
    """A compute device (e.g. CUDA) was requested but is not available here."""


class PharmacogenomicInputError(TwinEngineError):
    """A pharmacogenomic request is malformed; unknown *alleles* are not errors (they phenotype as Indeterminate)."""


class UnknownGeneError(PharmacogenomicInputError):
    """The gene is not one the shipped CPIC tables phenotype (CYP2B6, CYP2C19, CYP2D6, HLA-A, HLA-B)."""


class MalformedDiplotypeError(PharmacogenomicInputError):
    """A diplotype is not two star alleles joined by `/`, or an HLA status is not `*NN:NN positive|negative`."""


class UnknownPopulationError(PharmacogenomicInputError):
    """The drug's CPIC guideline splits by population and the requested one is none of them."""
