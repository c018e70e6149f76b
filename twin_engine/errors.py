"""Typed errors raised by the twin engine; callers map them to their own edge (FHIR, CLI).

Hierarchy::

    TwinEngineError
    ├── FrameSchemaError        a frame lacks columns, has wrong dtypes, or is empty
    ├── InsufficientDataError   too little history for the requested operation
    ├── NotFittedError          a model was asked to forecast before fit()/load
    ├── ModelArtifactError      a registry artifact is missing, corrupted or mismatched
    └── DeviceUnavailableError  a compute device was requested that this machine lacks
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
