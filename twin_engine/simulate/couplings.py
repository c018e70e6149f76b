"""Simulated cohorts for scoring correlation models: streams with planted lagged couplings of known size.

The forecasting simulator (`cohort.py`) plants a few fixed couplings inside a clinical story; scoring a
correlation detector needs more control: the *size* of every planted effect per patient, couplings in both
directions (biometric → symptom and symptom → biometric), and a known null for every other link. So each
stream here is a unit-variance AR(1) process driven by standardised innovations, and a coupling of size ρ
at lag L means

    innovation_effect[t] = ρ · innovation_cause[t − L] + sqrt(1 − Σρ²) · fresh noise,

i.e. ρ is exactly the correlation between the cause's and the effect's innovations at that lag — the
quantity a prewhitened cross-correlation estimates. Per-patient sizes are drawn uniformly from each
coupling's [size_low, size_high], so power curves over effect size come from one cohort, and a narrow
range gives the pooled (multilevel) setting of a small population effect.

Hourly mode replaces daily HRV and daily anxiety with hourly processes: hourly HRV (circadian profile +
AR(1)), and a slow hourly latent anxiety reported at `reports_per_day` random waking hours (experience
sampling), coupled to HRV a few hours earlier. The daily HRV and anxiety values are then means of the
hourly ones, so daily (HRV, anxiety) associations are *implied* by the hourly coupling and listed as such.

Values are continuous (no rounding) and missingness is random days plus multi-day wearable gaps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from twin_engine import frames
from twin_engine.errors import TwinEngineError


@dataclass(frozen=True)
class Coupling:
    """A planted directed coupling; `lag` counts grid steps (days, or hours when `hourly`).

    `prevalence` is the share of patients who carry it; the others have size 0 (a null link in them, and
    a zero-size row in the answer key), which is how a population effect absent in some patients looks.
    """

    cause: str
    effect: str
    lag: int
    size_low: float
    size_high: float
    hourly: bool = False
    prevalence: float = 1.0


@dataclass(frozen=True)
class StreamSpec:
    """Per-patient ranges of a daily stream's mean, SD and AR(1) coefficient, and its valid range."""

    mean: tuple[float, float]
    sd: tuple[float, float]
    phi: tuple[float, float]
    bounds: tuple[float, float]
    weekly_amplitude: float = 0.0  # weekday profile, in SDs (steps and activity follow the week)
    self_report: bool = False


STREAMS: dict[str, StreamSpec] = {
    frames.SLEEP_HOURS: StreamSpec((6.0, 8.0), (0.6, 1.1), (0.1, 0.5), (0.0, 14.0)),
    frames.HRV_MS: StreamSpec((25.0, 70.0), (5.0, 12.0), (0.3, 0.7), (5.0, 250.0)),
    frames.RESTING_HR: StreamSpec((55.0, 78.0), (2.0, 4.0), (0.4, 0.8), (35.0, 120.0)),
    frames.STEPS: StreamSpec((4000.0, 11000.0), (1200.0, 3000.0), (0.2, 0.5), (0.0, 60000.0), 0.4),
    frames.ACTIVE_MINUTES: StreamSpec((15.0, 60.0), (8.0, 20.0), (0.2, 0.5), (0.0, 600.0), 0.4),
    frames.MOOD: StreamSpec((3.5, 7.0), (0.8, 1.4), (0.4, 0.8), (0.0, 10.0), self_report=True),
    frames.ANXIETY: StreamSpec((2.5, 6.0), (0.8, 1.4), (0.4, 0.8), (0.0, 10.0), self_report=True),
}

DAILY_COUPLINGS: tuple[Coupling, ...] = (
    Coupling(frames.SLEEP_HOURS, frames.MOOD, 1, 0.3, 0.3),
    Coupling(frames.ACTIVE_MINUTES, frames.MOOD, 1, 0.25, 0.25),
    Coupling(frames.HRV_MS, frames.ANXIETY, 1, -0.3, -0.3),
    Coupling(frames.ANXIETY, frames.RESTING_HR, 1, 0.3, 0.3),
)
HOURLY_COUPLINGS: tuple[Coupling, ...] = (Coupling(frames.HOURLY_HRV_MS, frames.ANXIETY, 3, -0.3, -0.3, hourly=True),)
WAKING_HOURS = (8, 22)  # experience-sampling prompts fall in [8:00, 22:00) UTC


@dataclass(frozen=True)
class CouplingConfig:
    """What to simulate. `couplings` must not form a cycle; in hourly mode daily couplings that touch HRV
    or anxiety are dropped (those streams are hourly then) and `hourly_couplings` apply."""

    n_patients: int = 100
    days: int = 180
    seed: int = 0
    couplings: tuple[Coupling, ...] = DAILY_COUPLINGS
    hourly: bool = False
    hourly_couplings: tuple[Coupling, ...] = HOURLY_COUPLINGS
    reports_per_day: int = 5
    wearable_missing: float = 0.08
    self_report_missing: float = 0.15
    gap_rate: float = 0.01  # per day: a wearable gap of 2-7 days starts
    start: str = "2025-01-01"
    streams: tuple[str, ...] = field(default=tuple(STREAMS))


@dataclass(frozen=True)
class CouplingCohort:
    """Observations plus the answer key.

    `truth` has one row per patient and active coupling (subject_id, cause, effect, lag, hourly, size;
    size 0 where the patient does not carry it);
    `implied` lists (cause, effect) pairs whose daily association follows from an hourly coupling and is
    therefore neither a false positive nor a planted daily effect.
    """

    config: CouplingConfig
    observations: pd.DataFrame
    truth: pd.DataFrame
    implied: frozenset[tuple[str, str]]


def active_couplings(conf: CouplingConfig) -> tuple[Coupling, ...]:
    """The couplings this configuration plants."""
    if not conf.hourly:
        return conf.couplings
    hourly_only = {frames.HRV_MS, frames.ANXIETY}
    daily = tuple(c for c in conf.couplings if not {c.cause, c.effect} & hourly_only)
    return daily + conf.hourly_couplings


def simulate_couplings(conf: CouplingConfig) -> CouplingCohort:
    """Seeded: the same configuration gives the same cohort."""
    if conf.n_patients < 1 or conf.days < 7:
        raise TwinEngineError("a coupling cohort needs at least one patient and a week of days")
    rng = np.random.default_rng(conf.seed)
    n, t = conf.n_patients, conf.days
    couplings = active_couplings(conf)
    sizes = {c: _sizes(c, n, rng) for c in couplings}
    daily_streams = [s for s in conf.streams if not (conf.hourly and s in (frames.HRV_MS, frames.ANXIETY))]
    daily = [c for c in couplings if not c.hourly]
    values = _daily_streams(daily_streams, daily, sizes, n, t, rng)
    start = pd.Timestamp(conf.start, tz="UTC")
    ids = [f"coupled-{conf.seed}-{i:05d}" for i in range(n)]
    parts = [_daily_rows(metric, values[metric], conf, rng, start, ids) for metric in daily_streams]
    implied: frozenset[tuple[str, str]] = frozenset()
    if conf.hourly:
        parts.extend(_hourly_rows(conf, [c for c in couplings if c.hourly], sizes, rng, start, ids))
        implied = frozenset({(frames.HRV_MS, frames.ANXIETY), (frames.ANXIETY, frames.HRV_MS)})
    observations = pd.concat(parts, ignore_index=True).sort_values([frames.SUBJECT_ID, frames.TS], kind="stable")
    truth = pd.DataFrame(
        [
            {
                frames.SUBJECT_ID: ids[i],
                "cause": c.cause,
                "effect": c.effect,
                "lag": c.lag,
                "hourly": c.hourly,
                "size": float(sizes[c][i]),
            }
            for c in couplings
            for i in range(n)
        ]
    )
    return CouplingCohort(conf, observations.reset_index(drop=True), truth, implied)


def _sizes(coupling: Coupling, n: int, rng: np.random.Generator) -> np.ndarray:
    sizes = rng.uniform(coupling.size_low, coupling.size_high, n)
    if coupling.prevalence < 1.0:  # draw nothing more at full prevalence: earlier cohorts stay identical
        sizes = np.where(rng.random(n) < coupling.prevalence, sizes, 0.0)
    return sizes


def _topological(streams: list[str], couplings: list[Coupling]) -> list[str]:
    order: list[str] = []
    pending = list(streams)
    while pending:
        ready = [
            s for s in pending if all(c.cause in order or c.cause not in pending for c in couplings if c.effect == s)
        ]
        if not ready:
            raise TwinEngineError("planted couplings form a cycle; the simulator needs a causal order")
        order.extend(ready)
        pending = [s for s in pending if s not in ready]
    return order


def _daily_streams(
    streams: list[str],
    couplings: list[Coupling],
    sizes: dict[Coupling, np.ndarray],
    n: int,
    t: int,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Latent unit-variance AR(1) paths scaled to each stream's units (n x t)."""
    burn = 30
    innovations: dict[str, np.ndarray] = {}
    out: dict[str, np.ndarray] = {}
    weekday = np.arange(t + burn) % 7
    for metric in _topological(streams, couplings):
        spec = STREAMS[metric]
        incoming = [c for c in couplings if c.effect == metric and c.cause in innovations]
        rho = np.stack([sizes[c] for c in incoming]) if incoming else np.zeros((0, n))
        own = np.sqrt(np.clip(1.0 - (rho**2).sum(axis=0), 0.0, 1.0))
        e = own[:, None] * rng.standard_normal((n, t + burn))
        for c, r in zip(incoming, rho, strict=True):
            e[:, c.lag :] += r[:, None] * innovations[c.cause][:, : t + burn - c.lag]
            e[:, : c.lag] += r[:, None] * rng.standard_normal((n, c.lag))
        innovations[metric] = e
        phi = rng.uniform(*spec.phi, n)
        scale = np.sqrt(1.0 - phi**2)
        x = np.empty_like(e)
        x[:, 0] = e[:, 0]
        for k in range(1, t + burn):
            x[:, k] = phi * x[:, k - 1] + scale * e[:, k]
        mean = rng.uniform(*spec.mean, n)
        sd = rng.uniform(*spec.sd, n)
        profile = spec.weekly_amplitude * np.where(weekday >= 5, -1.0, 0.4)  # quieter weekends
        path = mean[:, None] + sd[:, None] * (x + profile[None, :])
        out[metric] = np.clip(path[:, burn:], *spec.bounds)
    return out


def _present(conf: CouplingConfig, self_report: bool, n: int, t: int, rng: np.random.Generator) -> np.ndarray:
    if self_report:
        return rng.random((n, t)) >= conf.self_report_missing
    present = rng.random((n, t)) >= conf.wearable_missing
    starts = np.argwhere(rng.random((n, t)) < conf.gap_rate)
    for i, day in starts:
        present[i, day : day + int(rng.integers(2, 8))] = False
    return present


def _daily_rows(
    metric: str,
    values: np.ndarray,
    conf: CouplingConfig,
    rng: np.random.Generator,
    start: pd.Timestamp,
    ids: list[str],
) -> pd.DataFrame:
    n, t = values.shape
    present = _present(conf, STREAMS[metric].self_report, n, t, rng)
    hour = 7 if metric == frames.SLEEP_HOURS else 20  # sleep is reported on waking; the rest in the evening
    return _rows(metric, values, present, start + pd.Timedelta(hours=hour), pd.Timedelta(days=1), ids)


def _rows(
    metric: str,
    values: np.ndarray,
    present: np.ndarray,
    origin: pd.Timestamp,
    step: pd.Timedelta,
    ids: list[str],
) -> pd.DataFrame:
    i, k = np.nonzero(present)
    return pd.DataFrame(
        {
            frames.SUBJECT_ID: np.asarray(ids, dtype=object)[i],
            frames.TS: origin + step * k,
            frames.METRIC: metric,
            frames.VALUE: values[i, k].astype(float),
            frames.UNIT: frames.UNITS.get(metric, ""),
        }
    )


def _hourly_rows(
    conf: CouplingConfig,
    couplings: list[Coupling],
    sizes: dict[Coupling, np.ndarray],
    rng: np.random.Generator,
    start: pd.Timestamp,
    ids: list[str],
) -> list[pd.DataFrame]:
    """Hourly HRV and heart rate, and experience-sampled anxiety driven by HRV hours earlier."""
    n, days = conf.n_patients, conf.days
    h = days * 24
    hour_of_day = np.arange(h) % 24
    night = np.cos(2 * np.pi * (hour_of_day - 3) / 24)  # peaks at 03:00
    u_hrv = rng.standard_normal((n, h))
    hrv = _ar1(u_hrv, rng.uniform(0.5, 0.8, n))
    hr = _ar1(rng.standard_normal((n, h)), rng.uniform(0.5, 0.8, n))
    hrv_ms = np.clip(
        rng.uniform(25, 70, n)[:, None] * (1 + 0.25 * night) + rng.uniform(5, 10, n)[:, None] * hrv, 5, 250
    )
    hr_bpm = np.clip(rng.uniform(55, 75, n)[:, None] * (1 - 0.12 * night) + rng.uniform(3, 6, n)[:, None] * hr, 35, 180)
    total = np.zeros(n)
    shifted = np.zeros((n, h))
    for c in couplings:
        if c.cause != frames.HOURLY_HRV_MS or c.effect != frames.ANXIETY:
            raise TwinEngineError(f"hourly coupling {c.cause} -> {c.effect} is not simulated")
        r = sizes[c]
        total += r**2
        shifted[:, c.lag :] += r[:, None] * u_hrv[:, : h - c.lag]
    e = np.sqrt(np.clip(1.0 - total, 0.0, 1.0))[:, None] * rng.standard_normal((n, h)) + shifted
    level = rng.uniform(2.5, 6.0, n)[:, None] + rng.uniform(0.8, 1.4, n)[:, None] * _ar1(e, rng.uniform(0.9, 0.97, n))
    anxiety = np.clip(level, 0, 10)
    worn_days = _present(conf, False, n, days, rng)
    worn = np.repeat(worn_days, 24, axis=1) & (rng.random((n, h)) >= 0.05)
    lo, hi = WAKING_HOURS
    per_day = min(conf.reports_per_day, hi - lo)
    chosen = lo + np.argsort(rng.random((n, days, hi - lo)), axis=2)[:, :, :per_day]
    by_day = np.zeros((n, days, 24), dtype=bool)
    np.put_along_axis(by_day, chosen, True, axis=2)
    prompts = by_day.reshape(n, h)
    prompts &= rng.random((n, h)) >= conf.self_report_missing
    hour = pd.Timedelta(hours=1)
    daily_hrv = np.where(worn, hrv_ms, np.nan).reshape(n, days, 24)
    counts = np.isfinite(daily_hrv).sum(axis=2)
    daily_mean = np.nansum(daily_hrv, axis=2) / np.maximum(counts, 1)
    return [
        _rows(frames.HOURLY_HRV_MS, hrv_ms, worn, start, hour, ids),
        _rows(frames.HOURLY_HR, hr_bpm, worn, start, hour, ids),
        _rows(frames.HRV_MS, daily_mean, counts >= 12, start + pd.Timedelta(hours=7), pd.Timedelta(days=1), ids),
        _rows(frames.ANXIETY, anxiety, prompts, start, hour, ids),
    ]


def _ar1(innovations: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Unit-variance AR(1) paths (rows) from unit-variance innovations."""
    scale = np.sqrt(1.0 - phi**2)
    x = np.empty_like(innovations)
    x[:, 0] = innovations[:, 0]
    for k in range(1, innovations.shape[1]):
        x[:, k] = phi * x[:, k - 1] + scale * innovations[:, k]
    return x
