"""Simulate a cohort: observation frame plus the ground truth (latent paths, schedules, planted effects).

`simulate_cohort` is seeded and vectorised over patients (one Python loop over days), so 10,000
patient-years take seconds. The truth arrays are what the oracle and the evaluation read; models only ever
see `observations`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from twin_engine import frames
from twin_engine.errors import TwinEngineError
from twin_engine.simulate import config as cfg
from twin_engine.simulate import measure
from twin_engine.simulate.dynamics import PatientParameters, advance, initial_state, sample_parameters

TARGET_METRICS: tuple[str, ...] = (frames.MOOD, frames.PHQ9, frames.GAD7)


@dataclass(frozen=True)
class SimulatedCohort:
    """A simulated cohort. Invariants: arrays are (n_patients, days); day k is `start + k` days (UTC).

    `potential[metric][i, k]` is the score patient i *would* report on day k (observed or not): the
    ground truth for scoring forecasts on any day.
    """

    config: cfg.SimulatorConfig
    subject_ids: tuple[str, ...]
    start: pd.Timestamp
    observations: pd.DataFrame
    params: PatientParameters
    latent: dict[str, np.ndarray]  # "d", "a", "s", "h"
    potential: dict[str, np.ndarray]
    effects: tuple[cfg.PlantedEffect, ...]

    def medication_truth(self) -> pd.DataFrame:
        """One row per treated patient: start day, phenotype, exposure and full effect size."""
        p = self.params
        treated = np.flatnonzero(p.med_start >= 0)
        return pd.DataFrame(
            {
                frames.SUBJECT_ID: [self.subject_ids[i] for i in treated],
                "start_day": p.med_start[treated],
                "phenotype": [cfg.PHENOTYPES[k] for k in p.phenotype[treated]],
                "exposure": np.asarray(cfg.PHENOTYPE_EXPOSURE)[p.phenotype[treated]],
                "effect_phq9_points": p.med_effect[treated],
            }
        )

    def relapse_truth(self) -> pd.DataFrame:
        """One row per planted relapse onset (preceded by `warning_days` of critical slowing down)."""
        rows = [(self.subject_ids[i], onset) for i, onsets in enumerate(self.params.relapse_onsets) for onset in onsets]
        return pd.DataFrame(rows, columns=[frames.SUBJECT_ID, "onset_day"])

    def day_timestamp(self, day: np.ndarray) -> pd.DatetimeIndex:
        """UTC midnight of simulation day indices."""
        return self.start + pd.to_timedelta(np.asarray(day), unit="D")


def simulate_cohort(conf: cfg.SimulatorConfig) -> SimulatedCohort:
    """Run the simulator; identical configs give identical cohorts."""
    if conf.n_patients < 1 or conf.days < 2:
        raise TwinEngineError("a simulated cohort needs at least one patient and two days")
    rng = np.random.default_rng(conf.seed)
    p = sample_parameters(conf, rng)
    latent = _run_latent(p, conf, rng)
    n, t = conf.n_patients, conf.days
    potential = {m: measure.measure_target(m, latent["d"], latent["a"], rng) for m in TARGET_METRICS}
    subject_ids = [f"sim-{conf.seed}-{i:05d}" for i in range(n)]
    start = pd.Timestamp(conf.start, tz="UTC")
    start_s = int(start.timestamp())
    parts = _observed_parts(p, latent, potential, rng, start_s, conf.esm_reports_per_day)
    if conf.hourly:
        worn = measure.wearable_mask(p, t, rng)
        parts.extend(measure.hourly_streams(p, latent["h"], worn, rng, start_s))
    return SimulatedCohort(
        config=conf,
        subject_ids=tuple(subject_ids),
        start=start,
        observations=measure.assemble(parts, subject_ids),
        params=p,
        latent=latent,
        potential=potential,
        effects=cfg.planted_effects(conf.hourly),
    )


def _run_latent(p: PatientParameters, conf: cfg.SimulatorConfig, rng: np.random.Generator) -> dict[str, np.ndarray]:
    n, t = conf.n_patients, conf.days
    out = {key: np.zeros((n, t)) for key in ("d", "a", "s", "h")}
    state = initial_state(p, rng)
    for day in range(t):
        if day > 0:
            noise = (rng.normal(size=n), rng.normal(size=n), rng.normal(size=n), rng.normal(size=n))
            state = advance(state, p, day, noise)
        for key in out:
            out[key][:, day] = getattr(state, key)
    return out


def _observed_parts(
    p: PatientParameters,
    latent: dict[str, np.ndarray],
    potential: dict[str, np.ndarray],
    rng: np.random.Generator,
    start_s: int,
    esm_reports: int,
) -> list[dict[str, np.ndarray]]:
    n, t = latent["d"].shape
    quest = measure.questionnaire_mask(p, t, rng)
    parts = [
        measure.rows(frames.PHQ9, quest, potential[frames.PHQ9], 10.0, start_s),
        measure.rows(frames.GAD7, quest, potential[frames.GAD7], 10.0, start_s),
    ]
    mood = measure.mood_mask(p, latent["d"], rng)
    esm = p.esm[:, None] & mood
    parts.append(measure.rows(frames.MOOD, mood & ~esm, potential[frames.MOOD], 20.0, start_s))
    for k in range(esm_reports if bool(p.esm.any()) else 0):
        # Experience sampling: several reports a day, each its own noisy reading of the same latent state.
        draw = measure.measure_target(frames.MOOD, latent["d"], latent["a"], rng)
        parts.append(measure.rows(frames.MOOD, esm, draw, 9.0 + 12.0 * k / max(esm_reports - 1, 1), start_s))
    worn = measure.wearable_mask(p, t, rng)
    d_dev = latent["d"] - p.mean_d
    wear = {
        frames.SLEEP_HOURS: p.sleep_mean[:, None] + latent["s"] + rng.normal(0.0, 0.2, (n, t)),
        frames.HRV_MS: p.hrv_mean[:, None] * np.exp(0.15 * latent["h"]) + rng.normal(0.0, 1.5, (n, t)),
        frames.RESTING_HR: p.rhr_mean[:, None] + 0.25 * (latent["a"] - p.mean_a) + rng.normal(0, 1.5, (n, t)),
        frames.STEPS: np.rint(p.steps_mean[:, None] * np.exp(-0.03 * d_dev + rng.normal(0.0, 0.25, (n, t)))),
    }
    parts.extend(measure.rows(metric, worn, values, 7.0, start_s) for metric, values in wear.items())
    started = np.zeros((n, t), dtype=bool)
    treated = np.flatnonzero(p.med_start >= 0)
    started[treated, p.med_start[treated]] = True
    parts.append(measure.rows(frames.MEDICATION_ON, started, np.ones((n, t)), 8.0, start_s))
    return parts
