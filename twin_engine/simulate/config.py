"""Configuration and ground-truth records of the patient simulator.

Every coupling the simulator plants is listed in `planted_effects()` with its direction, lag and size, so
the correlation and forecasting models can be scored against the truth they are supposed to recover.
"""

from __future__ import annotations

from dataclasses import dataclass

from twin_engine import frames

# Coefficients of the latent dynamics (PHQ-9-scale depression d, GAD-7-scale anxiety a, sleep deviation s in
# hours, daily HRV z-score h). They are module constants so the dynamics and the ground-truth table can
# never disagree.
SLEEP_TO_DEPRESSION = -0.5  # PHQ-9 points next day per extra hour of sleep (short sleep -> worse mood)
DEPRESSION_TO_SLEEP = -0.06  # hours of sleep next day per PHQ-9 point above the patient's mean
HRV_TO_ANXIETY = -0.8  # GAD-7 points next day per SD of HRV (low HRV -> more anxiety)
DEPRESSION_TO_ANXIETY = 0.25  # same-day GAD-7 points per PHQ-9 point of deviation
HOURLY_HRV_TO_HR = -3.0  # beats/min per SD of hourly HRV, three hours later
HOURLY_LAG_HOURS = 3
MOOD_PER_PHQ = -1.0 / 2.7  # mood rating (0-10, 10 best) per PHQ-9 point

# Exposure multiplier by metabolizer phenotype (CYP2C19-like; a poor metabolizer clears the drug slowly).
PHENOTYPES: tuple[str, ...] = (
    "poor_metabolizer",
    "intermediate_metabolizer",
    "normal_metabolizer",
    "rapid_metabolizer",
    "ultrarapid_metabolizer",
)
PHENOTYPE_FREQUENCIES: tuple[float, ...] = (0.03, 0.26, 0.40, 0.25, 0.06)
PHENOTYPE_EXPOSURE: tuple[float, ...] = (1.8, 1.35, 1.0, 0.75, 0.5)


@dataclass(frozen=True)
class SimulatorConfig:
    """What to simulate; the seed makes every draw reproducible.

    `days` is per patient; `hourly` adds hourly HRV/heart-rate streams (costly: 24 rows per patient-day);
    `esm_fraction` of patients rate their mood several times a day (experience sampling).
    """

    n_patients: int = 100
    days: int = 365
    seed: int = 0
    start: str = "2025-01-01"
    hourly: bool = False
    esm_fraction: float = 0.15
    esm_reports_per_day: int = 4
    medication_fraction: float = 0.5
    relapse_rate_per_year: float = 0.6
    warning_days: int = 21
    wearable_fraction: float = 0.8


@dataclass(frozen=True)
class PlantedEffect:
    """One directed coupling planted in the simulated data (the answer key for correlation models)."""

    cause: str
    effect: str
    lag_hours: int
    coefficient: float
    description: str


def planted_effects(hourly: bool) -> tuple[PlantedEffect, ...]:
    """The couplings the simulator plants, in observed-metric units where a metric carries them."""
    effects = [
        PlantedEffect(
            frames.SLEEP_HOURS,
            frames.PHQ9,
            24,
            SLEEP_TO_DEPRESSION,
            "one hour less sleep raises next-day latent depression by 0.5 PHQ-9 points",
        ),
        PlantedEffect(
            frames.SLEEP_HOURS,
            frames.MOOD,
            24,
            SLEEP_TO_DEPRESSION * MOOD_PER_PHQ,
            "the same sleep effect seen on the 0-10 mood rating (positive: more sleep, better mood)",
        ),
        PlantedEffect(
            frames.PHQ9,
            frames.SLEEP_HOURS,
            24,
            DEPRESSION_TO_SLEEP,
            "worse latent depression shortens next night's sleep",
        ),
        PlantedEffect(
            frames.HRV_MS,
            frames.GAD7,
            24,
            HRV_TO_ANXIETY,
            "one SD lower daily HRV raises next-day latent anxiety by 0.8 GAD-7 points",
        ),
        PlantedEffect(
            frames.PHQ9,
            frames.GAD7,
            0,
            DEPRESSION_TO_ANXIETY,
            "same-day spill-over of depression into anxiety",
        ),
    ]
    if hourly:
        effects.append(
            PlantedEffect(
                frames.HOURLY_HRV_MS,
                frames.HOURLY_HR,
                HOURLY_LAG_HOURS,
                HOURLY_HRV_TO_HR,
                "low hourly HRV (arousal) raises heart rate three hours later",
            )
        )
    return tuple(effects)
