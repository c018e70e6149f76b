"""Simulate daily mood with planted transitions preceded by critical slowing down, plus matched controls.

Mechanism (a discretised fold bifurcation, as in Scheffer et al., Nature 2009, "Early-warning signals for
critical transitions"; van de Leemput et al., PNAS 2014, for mood): the latent mood deviation ``x`` of a
patient is an AR(1) process around a healthy equilibrium,

    x[t+1] = m[t] + (1 - r[t]) * (x[t] - m[t]) + sigma * e[t],   e ~ N(0, 1),

where ``r`` is the *recovery rate* (the fraction of a perturbation undone per day). In a transition patient
``r`` decays linearly from its healthy value ``r0`` to ``r_min`` over an *approach period* of ``ramp_days``
days (drawn uniformly from `TransitionConfig.ramp_days`): perturbations fade ever more slowly, so lag-1
autocorrelation (``1 - r``) and variance (``sigma² / (1 - (1 - r)²)``) rise, with no change in the mean. At
the *onset day* the healthy state is gone: the equilibrium ``m`` drops by ``shift`` mood points within a
few days and ``r`` returns to ``r0`` around the depressed state. Control patients draw the same parameters
(including a *pseudo* onset and ramp, so their monitoring stretches have the same lengths) but ``r`` stays
at ``r0`` throughout. Both arms carry a slow seasonal drift of the mean, so detectors must detrend.

Measurement: ``reports_per_day`` mood ratings a day (0-10, integer-rounded, clipped), each ``baseline + x``
plus independent reading noise; missingness has engagement lapses (a two-state Markov chain over days)
and independent skipped prompts, both per patient.

Invariants: arrays are (n_patients, days); day k is ``start + k`` days (UTC); ``onset_day`` and
``ramp_start`` are -1 for controls; ``pseudo_onset_day``/``pseudo_ramp_start`` are set for everyone (equal
to the real ones for transition patients). The planted ramp bounds the achievable lead time: an
indicator cannot rise before the ramp starts, so lead times are reported beside ``ramp_days``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from twin_engine import frames
from twin_engine.errors import TwinEngineError

_SECONDS_PER_DAY = 86_400
_FIRST_REPORT_HOUR = 9.0
_LAST_REPORT_HOUR = 21.0


@dataclass(frozen=True)
class TransitionConfig:
    """Parameters of `simulate_transitions`; the defaults are the documented benchmark settings."""

    n_transition: int = 500
    n_control: int = 500
    days: int = 240
    seed: int = 0
    reports_per_day: int = 5
    ramp_days: tuple[int, int] = (30, 90)  # approach period, drawn uniformly per patient (inclusive)
    onset_from_end: tuple[int, int] = (20, 60)  # onset this many days before the end of the record
    recovery_rate: tuple[float, float] = (0.35, 0.65)  # healthy r0 per patient
    recovery_rate_min: float = 0.04  # r at the onset (near the tipping point r = 0)
    noise_sd: tuple[float, float] = (0.35, 0.6)  # sigma, latent daily shocks, mood points
    shift: tuple[float, float] = (2.5, 4.0)  # drop of the equilibrium at onset, mood points
    reading_sd: float = 0.8  # one report's noise around the day's latent mood
    baseline: tuple[float, float] = (5.5, 7.5)  # healthy mean mood rating
    drift_amplitude: float = 0.4  # slow seasonal drift of the mean (both arms), mood points
    skip_prob: tuple[float, float] = (0.05, 0.3)  # per-prompt non-response, per patient
    lapse_start: float = 0.02  # daily probability of starting an engagement lapse
    lapse_end: float = 0.3  # daily probability of ending one
    start: str = "2025-01-01"


@dataclass(frozen=True)
class TransitionCohort:
    """A simulated cohort and its ground truth; models only ever see `observations` (metric `frames.MOOD`)."""

    config: TransitionConfig
    subject_ids: tuple[str, ...]
    start: pd.Timestamp
    observations: pd.DataFrame
    transitions: np.ndarray  # bool (n,)
    onset_day: np.ndarray  # int (n,), -1 for controls
    ramp_start: np.ndarray  # int (n,), -1 for controls
    pseudo_onset_day: np.ndarray  # int (n,), everyone
    pseudo_ramp_start: np.ndarray  # int (n,), everyone
    latent: np.ndarray  # (n, days) latent mood deviation x
    recovery: np.ndarray  # (n, days) recovery rate r

    @property
    def ramp_days(self) -> np.ndarray:
        """Length of the (pseudo) approach period per patient: the bound on achievable lead time."""
        return self.pseudo_onset_day - self.pseudo_ramp_start

    def truth(self) -> pd.DataFrame:
        """One row per patient: whether they transition, onset day and ramp start (-1 for controls)."""
        return pd.DataFrame(
            {
                frames.SUBJECT_ID: list(self.subject_ids),
                "transition": self.transitions,
                "onset_day": self.onset_day,
                "ramp_start": self.ramp_start,
                "ramp_days": np.where(self.transitions, self.ramp_days, -1),
            }
        )


def simulate_transitions(conf: TransitionConfig) -> TransitionCohort:
    """Run the simulator; identical configs give identical cohorts (one loop over days, vectorised)."""
    n = conf.n_transition + conf.n_control
    if n < 1 or conf.reports_per_day < 1:
        raise TwinEngineError("a transition cohort needs at least one patient and one report a day")
    if conf.days < conf.onset_from_end[1] + conf.ramp_days[1] + 30:
        raise TwinEngineError(f"{conf.days} days leave no baseline before the longest ramp and onset")
    rng = np.random.default_rng(conf.seed)
    transitions = np.arange(n) < conf.n_transition
    onset = conf.days - rng.integers(conf.onset_from_end[0], conf.onset_from_end[1] + 1, n)
    ramp_len = rng.integers(conf.ramp_days[0], conf.ramp_days[1] + 1, n)
    ramp_start = onset - ramp_len
    recovery = _recovery_paths(conf, rng, transitions, onset, ramp_start)
    equilibrium = _equilibria(conf, rng, transitions, onset)
    latent = _run_latent(conf, rng, recovery, equilibrium)
    subject_ids = tuple(f"ews-{conf.seed}-{i:05d}" for i in range(n))
    start = pd.Timestamp(conf.start, tz="UTC")
    observations = _measure(conf, rng, latent, subject_ids, start)
    return TransitionCohort(
        config=conf,
        subject_ids=subject_ids,
        start=start,
        observations=observations,
        transitions=transitions,
        onset_day=np.where(transitions, onset, -1),
        ramp_start=np.where(transitions, ramp_start, -1),
        pseudo_onset_day=onset,
        pseudo_ramp_start=ramp_start,
        latent=latent,
        recovery=recovery,
    )


def _recovery_paths(
    conf: TransitionConfig, rng: np.random.Generator, transitions: np.ndarray, onset: np.ndarray, ramp: np.ndarray
) -> np.ndarray:
    n = transitions.shape[0]
    r0 = _uniform(rng, conf.recovery_rate, n)[:, None]
    days = np.arange(conf.days)[None, :]
    progress = np.clip((days - ramp[:, None]) / (onset - ramp)[:, None], 0.0, 1.0)
    approaching = transitions[:, None] & (days < onset[:, None])
    decayed = r0 - (r0 - conf.recovery_rate_min) * progress
    return np.where(approaching, decayed, r0)


def _equilibria(
    conf: TransitionConfig, rng: np.random.Generator, transitions: np.ndarray, onset: np.ndarray
) -> np.ndarray:
    """Mean path: slow drift for everyone, plus the post-onset drop (over ~3 days) for transition patients."""
    n = transitions.shape[0]
    days = np.arange(conf.days)[None, :]
    period = _uniform(rng, (90.0, 365.0), n)[:, None]
    phase = _uniform(rng, (0.0, 2 * np.pi), n)[:, None]
    drift = conf.drift_amplitude * _uniform(rng, (0.0, 1.0), n)[:, None] * np.sin(2 * np.pi * days / period + phase)
    shift = _uniform(rng, conf.shift, n)[:, None]
    drop = shift * np.clip((days - onset[:, None] + 1) / 3.0, 0.0, 1.0)
    return drift - np.where(transitions[:, None], drop, 0.0)


def _run_latent(
    conf: TransitionConfig, rng: np.random.Generator, recovery: np.ndarray, equilibrium: np.ndarray
) -> np.ndarray:
    n, t = recovery.shape
    sigma = _uniform(rng, conf.noise_sd, n)
    r0 = recovery[:, 0]
    x = np.empty((n, t))
    # Start in the stationary distribution so the first weeks are not a burn-in transient.
    x[:, 0] = equilibrium[:, 0] + sigma / np.sqrt(1.0 - (1.0 - r0) ** 2) * rng.normal(size=n)
    for day in range(1, t):
        keep = 1.0 - recovery[:, day - 1]
        m = equilibrium[:, day]
        x[:, day] = m + keep * (x[:, day - 1] - m) + sigma * rng.normal(size=n)
    return x


def _measure(
    conf: TransitionConfig,
    rng: np.random.Generator,
    latent: np.ndarray,
    subject_ids: tuple[str, ...],
    start: pd.Timestamp,
) -> pd.DataFrame:
    n, t = latent.shape
    k = conf.reports_per_day
    baseline = _uniform(rng, conf.baseline, n)[:, None, None]
    raw = baseline + latent[:, :, None] + rng.normal(0.0, conf.reading_sd, (n, t, k))
    values = np.clip(np.rint(raw), 0.0, 10.0)
    answered = _engaged_days(conf, rng, n, t)[:, :, None] & (
        rng.random((n, t, k)) > _uniform(rng, conf.skip_prob, n)[:, None, None]
    )
    subject, day, slot = np.nonzero(answered)
    hours = _FIRST_REPORT_HOUR + (_LAST_REPORT_HOUR - _FIRST_REPORT_HOUR) * slot / max(k - 1, 1)
    seconds = int(start.timestamp()) + day.astype(np.int64) * _SECONDS_PER_DAY + np.rint(hours * 3600).astype(np.int64)
    return pd.DataFrame(
        {
            frames.SUBJECT_ID: pd.Categorical.from_codes(subject.astype(np.int32), categories=list(subject_ids)),
            frames.TS: pd.to_datetime(seconds, unit="s", utc=True),
            frames.METRIC: pd.Categorical.from_codes(np.zeros(subject.shape[0], np.int8), categories=[frames.MOOD]),
            frames.VALUE: values[answered].astype(np.float64),
            frames.UNIT: frames.UNITS[frames.MOOD],
        }
    )


def _engaged_days(conf: TransitionConfig, rng: np.random.Generator, n: int, t: int) -> np.ndarray:
    """Engagement lapses: days-long gaps in all reports, as app users go quiet and come back."""
    engaged = np.ones(n, dtype=bool)
    out = np.empty((n, t), dtype=bool)
    for day in range(t):
        flip = rng.random(n)
        engaged = np.where(engaged, flip > conf.lapse_start, flip < conf.lapse_end)
        out[:, day] = engaged
    return out


def _uniform(rng: np.random.Generator, bounds: tuple[float, float], n: int) -> np.ndarray:
    return rng.uniform(bounds[0], bounds[1], size=n)
