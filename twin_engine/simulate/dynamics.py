"""Latent day-by-day dynamics of the simulator, shared by the data generator and the oracle.

Per patient, latent depression ``d`` (PHQ-9 scale) is AR(1) around a time-varying mean that drops after a
medication starts (delayed onset, size scaled by metabolizer exposure) and jumps at relapses; before each
relapse the autocorrelation and noise rise over `warning_days` (critical slowing down). Sleep, HRV and
anxiety are coupled to it with the lags listed in `config.planted_effects`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin_engine.simulate import config as cfg

FloatArray = np.ndarray


@dataclass(frozen=True)
class PatientParameters:
    """Per-patient parameters (arrays of length n) and per-day schedules (arrays n x days)."""

    phi_a: FloatArray
    sigma_a: FloatArray
    sleep_mean: FloatArray
    hrv_mean: FloatArray
    rhr_mean: FloatArray
    steps_mean: FloatArray
    phq_interval: np.ndarray
    mood_miss: FloatArray
    esm: np.ndarray
    wearable: np.ndarray
    med_start: np.ndarray  # day index, -1 when never treated
    phenotype: np.ndarray  # index into config.PHENOTYPES
    med_effect: FloatArray  # full effect size in PHQ-9 points (0 when never treated)
    mean_d: FloatArray  # n x days: mean level of d
    mean_a: FloatArray
    phi_d: FloatArray  # n x days: AR coefficient (rises before relapses)
    sigma_d: FloatArray  # n x days: innovation SD (rises before relapses)
    relapse_onsets: tuple[tuple[int, ...], ...]


@dataclass
class LatentState:
    """The state carried from one day to the next (arrays of length n, or n x samples for the oracle)."""

    d: FloatArray
    a: FloatArray
    s: FloatArray
    h: FloatArray


def sample_parameters(conf: cfg.SimulatorConfig, rng: np.random.Generator) -> PatientParameters:
    """Draw patient parameters and build their mean/AR/noise schedules."""
    n, t = conf.n_patients, conf.days
    base_d = rng.uniform(3.0, 20.0, n)
    base_a = np.clip(0.6 * base_d + rng.normal(0.0, 2.5, n), 1.0, 18.0)
    phi0 = rng.uniform(0.55, 0.9, n)
    sigma0 = rng.uniform(0.7, 2.2, n)
    mean_d = np.repeat(base_d[:, None], t, axis=1)
    phi_d = np.repeat(phi0[:, None], t, axis=1)
    sigma_d = np.repeat(sigma0[:, None], t, axis=1)
    days = np.arange(t)

    treated = rng.random(n) < conf.medication_fraction
    latest = max(t - 30, 2)
    med_start = np.where(treated, rng.integers(min(30, latest - 1), latest, n), -1)
    phenotype = rng.choice(len(cfg.PHENOTYPES), n, p=np.asarray(cfg.PHENOTYPE_FREQUENCIES))
    exposure = np.asarray(cfg.PHENOTYPE_EXPOSURE)[phenotype]
    responsiveness = rng.uniform(0.3, 1.0, n)
    med_effect = np.where(treated, 6.0 * responsiveness * np.minimum(exposure, 1.3) / 1.3, 0.0)
    delay = rng.integers(5, 15, n)
    tau = rng.uniform(10.0, 25.0, n)
    since = days[None, :] - (med_start + delay)[:, None]
    onset_curve = np.where((since > 0) & treated[:, None], 1.0 - np.exp(-since / tau[:, None]), 0.0)
    mean_d -= med_effect[:, None] * onset_curve

    onsets = _relapses(conf, rng, mean_d, phi_d, sigma_d)
    mean_a = np.clip(base_a[:, None] + cfg.DEPRESSION_TO_ANXIETY * (mean_d - base_d[:, None]), 0.0, 21.0)
    return PatientParameters(
        phi_a=rng.uniform(0.4, 0.8, n),
        sigma_a=rng.uniform(0.6, 1.6, n),
        sleep_mean=rng.uniform(6.0, 8.2, n),
        hrv_mean=rng.uniform(25.0, 70.0, n),
        rhr_mean=rng.uniform(55.0, 78.0, n),
        steps_mean=rng.uniform(3000.0, 11000.0, n),
        phq_interval=rng.choice(np.array([7, 14]), n),
        mood_miss=rng.uniform(0.05, 0.35, n),
        esm=rng.random(n) < conf.esm_fraction,
        wearable=rng.random(n) < conf.wearable_fraction,
        med_start=med_start,
        phenotype=phenotype,
        med_effect=med_effect,
        mean_d=mean_d,
        mean_a=mean_a,
        phi_d=phi_d,
        sigma_d=sigma_d,
        relapse_onsets=onsets,
    )


def _relapses(
    conf: cfg.SimulatorConfig,
    rng: np.random.Generator,
    mean_d: FloatArray,
    phi_d: FloatArray,
    sigma_d: FloatArray,
) -> tuple[tuple[int, ...], ...]:
    """Plant relapses in place: a warning ramp of phi/sigma, then a mean jump that decays over weeks."""
    n, t = mean_d.shape
    days = np.arange(t)
    counts = rng.poisson(conf.relapse_rate_per_year * t / 365.0, n)
    out: list[tuple[int, ...]] = []
    w = conf.warning_days
    for i in range(n):
        if counts[i] == 0 or t <= w + 10:
            out.append(())
            continue
        onsets = np.sort(rng.integers(w + 5, t, counts[i]))
        for onset in onsets:
            ramp = np.clip((days - (onset - w)) / w, 0.0, 1.0) * (days < onset)
            phi_d[i] = np.maximum(phi_d[i], phi_d[i] + (0.97 - phi_d[i]) * ramp)
            sigma_d[i] = sigma_d[i] * (1.0 + 0.6 * ramp)
            amp = rng.uniform(5.0, 10.0)
            duration = rng.uniform(25.0, 80.0)
            after = days >= onset
            mean_d[i] += np.where(after, amp * np.exp(-(days - onset) / duration), 0.0)
        out.append(tuple(int(o) for o in onsets))
    np.clip(mean_d, 0.0, 27.0, out=mean_d)
    return tuple(out)


def advance(
    state: LatentState,
    p: PatientParameters,
    day: int,
    noise: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
    index: np.ndarray | None = None,
) -> LatentState:
    """One day of dynamics from `day - 1` to `day`; `index` selects patients when state is a subset.

    State arrays may carry a trailing sample axis (the oracle's Monte Carlo paths); parameters broadcast.
    """
    sel = slice(None) if index is None else index

    def col(arr: FloatArray) -> FloatArray:
        values = arr[sel, day] if arr.ndim == 2 else arr[sel]
        return values.reshape(values.shape + (1,) * (state.d.ndim - 1))

    def prev(arr: FloatArray) -> FloatArray:
        values = arr[sel, day - 1]
        return values.reshape(values.shape + (1,) * (state.d.ndim - 1))

    e_d, e_a, e_s, e_h = noise
    dev_d = state.d - prev(p.mean_d)
    s = 0.35 * state.s + cfg.DEPRESSION_TO_SLEEP * dev_d + 0.7 * e_s
    h = 0.5 * state.h + np.sqrt(0.75) * e_h
    d = col(p.mean_d) + col(p.phi_d) * dev_d + cfg.SLEEP_TO_DEPRESSION * state.s + col(p.sigma_d) * e_d
    d = np.clip(d, -3.0, 30.0)
    a = (
        col(p.mean_a)
        + col(p.phi_a) * (state.a - prev(p.mean_a))
        + cfg.DEPRESSION_TO_ANXIETY * (d - col(p.mean_d))
        + cfg.HRV_TO_ANXIETY * state.h
        + col(p.sigma_a) * e_a
    )
    return LatentState(d=d, a=np.clip(a, -3.0, 24.0), s=s, h=h)


def initial_state(p: PatientParameters, rng: np.random.Generator) -> LatentState:
    """Day-0 state drawn around each patient's mean."""
    n = p.mean_d.shape[0]
    return LatentState(
        d=p.mean_d[:, 0] + rng.normal(0.0, 1.5, n),
        a=p.mean_a[:, 0] + rng.normal(0.0, 1.0, n),
        s=np.asarray(rng.normal(0.0, 0.7, n)),
        h=np.asarray(rng.normal(0.0, 1.0, n)),
    )
