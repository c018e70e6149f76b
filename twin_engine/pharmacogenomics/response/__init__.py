"""Learned medication response model: calibrated response and side-effect probabilities per candidate drug.

Trained and evaluated on `twin_engine.simulate.pgx_cohort` episodes only; beside it a genotype-blind baseline
measures what genotype adds. It complements, never replaces, the CPIC-exact guidance of the parent package.
Exports resolve lazily (PEP 562) so that `novamind` registering its commands does not import XGBoost.
"""

from __future__ import annotations

import importlib
from typing import Any

_PACKAGE = "twin_engine.pharmacogenomics.response"
_EXPORTS = {
    "DISCLAIMER": "comparative",
    "ComparativeAnalysis": "comparative",
    "MedicationEstimate": "comparative",
    "compare_medications": "comparative",
    "estimate_medications": "comparative",
    "InvalidPatientProfileError": "errors",
    "MedicationResponseError": "errors",
    "UnknownMedicationError": "errors",
    "MedicationResponseModel": "model",
    "ResponseModelConfig": "model",
    "PatientProfile": "profile",
    "ResponseBundle": "training",
    "load_bundle": "training",
    "save_bundle": "training",
    "train_bundle": "training",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {_PACKAGE!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{_PACKAGE}.{_EXPORTS[name]}"), name)
