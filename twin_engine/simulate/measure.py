"""Observation model of the simulator: noisy integer questionnaires, mood ratings, wearables, missingness.

`measure_target` is also used by the oracle, so "the value that would be measured on day t" has one
definition for the data and for its best possible forecast.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin_engine import frames
from twin_engine.simulate import config as cfg
from twin_engine.simulate.dynamics import PatientParameters

PHQ_NOISE_SD = 2.0  # PHQ-9's own measurement error is about two points
GAD_NOISE_SD = 1.6
MOOD_NOISE_SD = 0.7
_SECONDS_PER_DAY = 86_400


def measure_target(metric: str, d: np.ndarray, a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw the integer score a patient would report given latent depression `d` and anxiety `a`."""
    if metric == frames.PHQ9:
        return np.clip(np.rint(d + rng.normal(0.0, PHQ_NOISE_SD, d.shape)), 0, 27)
    if metric == frames.GAD7:
        return np.clip(np.rint(a + rng.normal(0.0, GAD_NOISE_SD, a.shape)), 0, 21)
    if metric == frames.MOOD:
        raw = 10.0 + cfg.MOOD_PER_PHQ * d + rng.normal(0.0, MOOD_NOISE_SD, d.shape)
        return np.clip(np.rint(raw), 0, 10)
    raise ValueError(f"not a simulated target metric: {metric}")


def mood_mask(p: PatientParameters, d: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Which daily mood ratings are reported: engagement lapses (Markov) plus more misses when depressed."""
    n, t = d.shape
    engaged = np.ones(n, dtype=bool)
    mask = np.zeros((n, t), dtype=bool)
    miss_extra = 0.015 * np.clip(d - 12.0, 0.0, None)  # missing not at random
    for day in range(t):
        flip = rng.random(n)
        engaged = np.where(engaged, flip > 0.03, flip < 0.2)
        mask[:, day] = engaged & (rng.random(n) > p.mood_miss + miss_extra[:, day])
    return mask


def questionnaire_mask(p: PatientParameters, t: int, rng: np.random.Generator) -> np.ndarray:
    """PHQ-9/GAD-7 days: weekly or biweekly per patient, with a random phase and 10% missed visits."""
    n = p.phq_interval.shape[0]
    phase = rng.integers(0, 14, n) % p.phq_interval
    days = np.arange(t)[None, :]
    due = (days % p.phq_interval[:, None]) == phase[:, None]
    return due & (rng.random((n, t)) > 0.1)


def wearable_mask(p: PatientParameters, t: int, rng: np.random.Generator) -> np.ndarray:
    """Days a wearable was worn (only patients who own one; 90% of their days)."""
    return p.wearable[:, None] & (rng.random((p.wearable.shape[0], t)) < 0.9)


def rows(metric: str, mask: np.ndarray, values: np.ndarray, hour: float, start_s: int) -> dict[str, np.ndarray]:
    """Columns for one metric's observed cells (subject index, epoch seconds, value)."""
    subject, day = np.nonzero(mask)
    return {
        "subject": subject.astype(np.int32),
        "ts": start_s + day.astype(np.int64) * _SECONDS_PER_DAY + int(hour * 3600),
        "metric": np.full(subject.shape[0], metric, dtype=object),
        "value": values[mask].astype(np.float64),
    }


def assemble(parts: list[dict[str, np.ndarray]], subject_ids: list[str]) -> pd.DataFrame:
    """Concatenate metric parts into one observation frame (categorical ids keep big cohorts cheap)."""
    subject = np.concatenate([part["subject"] for part in parts])
    ts = np.concatenate([part["ts"] for part in parts])
    metric = np.concatenate([part["metric"] for part in parts])
    value = np.concatenate([part["value"] for part in parts])
    order = np.lexsort((ts, subject))
    metric_cat = pd.Categorical(metric[order])
    frame = pd.DataFrame(
        {
            frames.SUBJECT_ID: pd.Categorical.from_codes(subject[order], categories=subject_ids),
            frames.TS: pd.to_datetime(ts[order], unit="s", utc=True),
            frames.METRIC: metric_cat,
            frames.VALUE: value[order],
        }
    )
    frame[frames.UNIT] = frame[frames.METRIC].map(frames.UNITS)
    return frame


def hourly_streams(
    p: PatientParameters, h: np.ndarray, worn: np.ndarray, rng: np.random.Generator, start_s: int
) -> list[dict[str, np.ndarray]]:
    """Hourly HRV and heart rate; low HRV raises heart rate `HOURLY_LAG_HOURS` later (a planted effect)."""
    n, t = h.shape
    lag = cfg.HOURLY_LAG_HOURS
    z = np.zeros((n, t * 24))
    current = h[:, 0].copy()
    for k in range(t * 24):
        daily = h[:, k // 24]
        current = daily + 0.6 * (current - daily) + 0.8 * rng.normal(0.0, 1.0, n)
        z[:, k] = current
    hours = np.arange(t * 24)
    circadian = 6.0 * np.sin(2 * np.pi * (hours - 9) / 24.0)
    lagged = np.concatenate([np.zeros((n, lag)), z[:, :-lag]], axis=1)
    hr = p.rhr_mean[:, None] + 8.0 + circadian + cfg.HOURLY_HRV_TO_HR * lagged + rng.normal(0, 2.0, z.shape)
    hrv = p.hrv_mean[:, None] * np.exp(0.15 * z) + rng.normal(0.0, 2.0, z.shape)
    mask = np.repeat(worn, 24, axis=1) & (rng.random(z.shape) < 0.85)
    out: list[dict[str, np.ndarray]] = []
    for metric, values in ((frames.HOURLY_HRV_MS, hrv), (frames.HOURLY_HR, hr)):
        subject, hour = np.nonzero(mask)
        out.append(
            {
                "subject": subject.astype(np.int32),
                "ts": start_s + hour.astype(np.int64) * 3600,
                "metric": np.full(subject.shape[0], metric, dtype=object),
                "value": values[mask].astype(np.float64),
            }
        )
    return out
