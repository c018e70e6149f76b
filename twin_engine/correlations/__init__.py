"""Biometric–symptom lagged associations: per patient (prewhitened, permutation-tested, FDR-controlled),
pooled across patients (random effects), and the clinician-facing insights they support."""

from twin_engine.correlations.analysis import CorrelationConfig, PatientCorrelations, analyse_patient
from twin_engine.correlations.insights import Insight, insights
from twin_engine.correlations.lagged import AnalysisSettings, LinkResult, LinkSpec
from twin_engine.correlations.pooled import PooledLink, pool
from twin_engine.correlations.timeline import StreamCoverage

__all__ = [
    "AnalysisSettings",
    "CorrelationConfig",
    "Insight",
    "LinkResult",
    "LinkSpec",
    "PatientCorrelations",
    "PooledLink",
    "StreamCoverage",
    "analyse_patient",
    "insights",
    "pool",
]
