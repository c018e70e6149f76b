"""Pure ML for the digital twin: frames in, dataclasses out.

No FHIR, HTTP or database inside (see the dependency contracts in pyproject.toml). Heavy submodules
(torch, xgboost) load lazily through `twin_engine.forecast`, and `validate_observations` (pandas) on first
use, so importing this package — which the pharmacogenomics rules do inside the server — stays cheap.
"""

from typing import Any

from twin_engine.errors import (
    DeviceUnavailableError,
    FrameSchemaError,
    InsufficientDataError,
    ModelArtifactError,
    NotFittedError,
    TwinEngineError,
)

__all__ = [
    "DeviceUnavailableError",
    "FrameSchemaError",
    "InsufficientDataError",
    "ModelArtifactError",
    "NotFittedError",
    "TwinEngineError",
    "validate_observations",
]


def __getattr__(name: str) -> Any:
    if name == "validate_observations":
        from twin_engine.frames import validate_observations

        return validate_observations
    raise AttributeError(f"module 'twin_engine' has no attribute {name!r}")
