"""Symptom trajectory forecasting: members, ensemble, conformal intervals, evaluation (see pipeline).

Exports resolve lazily (PEP 562) so that importing one submodule, e.g. the transformer on a GPU box
without XGBoost, does not import every model library.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "LEVELS": "twin_engine.forecast.base",
    "MAX_HORIZON": "twin_engine.forecast.base",
    "QUANTILES": "twin_engine.forecast.base",
    "Forecast": "twin_engine.forecast.base",
    "ForecasterConfig": "twin_engine.forecast.pipeline",
    "TwinForecaster": "twin_engine.forecast.pipeline",
    "load_bundle": "twin_engine.forecast.training",
}

__all__ = ["LEVELS", "MAX_HORIZON", "QUANTILES", "Forecast", "ForecasterConfig", "TwinForecaster", "load_bundle"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'twin_engine.forecast' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
