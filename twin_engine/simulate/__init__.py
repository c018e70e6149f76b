"""Patient simulator with planted, recorded effects and an oracle forecast (see `cohort.simulate_cohort`)."""

from twin_engine.simulate.cohort import TARGET_METRICS, SimulatedCohort, simulate_cohort
from twin_engine.simulate.config import PlantedEffect, SimulatorConfig, planted_effects
from twin_engine.simulate.oracle import oracle_quantiles

__all__ = [
    "TARGET_METRICS",
    "PlantedEffect",
    "SimulatedCohort",
    "SimulatorConfig",
    "oracle_quantiles",
    "planted_effects",
    "simulate_cohort",
]
