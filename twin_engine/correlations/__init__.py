"""Biometric–symptom lagged associations: per patient (prewhitened, permutation-tested, FDR-controlled),
pooled across patients (random effects), a population prior that lends the pooled answer to each patient
(weighted FDR), and the clinician-facing insights they support.

Names are imported on first use: the `novamind` CLI registers `evaluate correlations` on every call, and
importing the analysis (scipy.stats) there would add about a second to unrelated commands.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from twin_engine.correlations.analysis import CorrelationConfig, PatientCorrelations, analyse_patient
    from twin_engine.correlations.insights import Insight, clinical_insights
    from twin_engine.correlations.lagged import AnalysisSettings, LinkResult, LinkSpec
    from twin_engine.correlations.pooled import PooledLink, pool
    from twin_engine.correlations.population_prior import PopulationPrior, apply_prior, cross_fitted, prior_from_pool
    from twin_engine.correlations.timeline import StreamCoverage

_HOMES = {
    "AnalysisSettings": "lagged",
    "LinkResult": "lagged",
    "LinkSpec": "lagged",
    "CorrelationConfig": "analysis",
    "PatientCorrelations": "analysis",
    "analyse_patient": "analysis",
    "Insight": "insights",
    "clinical_insights": "insights",
    "PooledLink": "pooled",
    "pool": "pooled",
    "PopulationPrior": "population_prior",
    "apply_prior": "population_prior",
    "cross_fitted": "population_prior",
    "prior_from_pool": "population_prior",
    "StreamCoverage": "timeline",
}

__all__ = [
    "AnalysisSettings",
    "CorrelationConfig",
    "Insight",
    "LinkResult",
    "LinkSpec",
    "PatientCorrelations",
    "PooledLink",
    "PopulationPrior",
    "StreamCoverage",
    "analyse_patient",
    "apply_prior",
    "clinical_insights",
    "cross_fitted",
    "pool",
    "prior_from_pool",
]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(f"twin_engine.correlations.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'twin_engine.correlations' has no attribute {name!r}")
