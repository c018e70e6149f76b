"""Pure ML for the digital twin: frames in, dataclasses out.

No FHIR, HTTP or database inside (see the dependency contracts in pyproject.toml). Heavy submodules
(torch, xgboost) load lazily through `twin_engine.forecast`, so importing this package stays cheap.
"""

from twin_engine.errors import (
    DeviceUnavailableError,
    FrameSchemaError,
    InsufficientDataError,
    ModelArtifactError,
    NotFittedError,
    TwinEngineError,
)
from twin_engine.frames import validate_observations

__all__ = [
    "DeviceUnavailableError",
    "FrameSchemaError",
    "InsufficientDataError",
    "ModelArtifactError",
    "NotFittedError",
    "TwinEngineError",
    "validate_observations",
]
