"""Within-patient lagged association between biometrics and symptoms, in both directions.

A *link* is one directed question — "does sleep precede mood?" — asked over a set of lags (1..3 days, or
1..12 hours), plus one same-time link per pair. Each link's statistic is the largest |z| over its lags of
the cross-correlation of prewhitened innovations, and its p-value comes from permuting the cause's
innovations (valid because they are white under the null): taking the maximum inside the permutation
controls the choice of lag, and Benjamini–Hochberg across every link of the patient controls the
false-discovery rate. The reported effect is the correlation at the best lag with a Fisher-z interval;
the best lag's uncertainty is the share of resampled correlation profiles that peak there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from twin_engine.correlations.fdr import benjamini_hochberg
from twin_engine.correlations.whitening import Whitened

BIOMETRIC_TO_SYMPTOM = "biometric-to-symptom"
SYMPTOM_TO_BIOMETRIC = "symptom-to-biometric"
SAME_TIME = "same-time"

# Reliability grades from the smallest correlation the data could detect with 80% power.
Z_95 = 1.959963984540054  # two-sided 95% normal quantile
Z_POWER_80 = 0.8416212335729143  # one-sided 80% power quantile

INSUFFICIENT = "insufficient"
LOW = "low"
MODERATE = "moderate"
HIGH = "high"


@dataclass(frozen=True)
class LinkSpec:
    """One directed question: does `cause` precede `effect` by one of `lags` steps of `resolution`?"""

    biometric: str
    symptom: str
    direction: str
    resolution: str
    lags: tuple[int, ...]

    @property
    def cause(self) -> str:
        return self.symptom if self.direction == SYMPTOM_TO_BIOMETRIC else self.biometric

    @property
    def effect(self) -> str:
        return self.biometric if self.direction == SYMPTOM_TO_BIOMETRIC else self.symptom


@dataclass(frozen=True)
class LinkResult:
    """The answer for one link. `correlations[k]`/`pairs[k]` belong to `spec.lags[k]`.

    `r`, `ci_low`, `ci_high` describe the best lag (chosen as the largest |z|, so |r| is optimistic for
    weak links); `p_value` is the permutation p-value of that maximum and `q_value` its BH adjustment
    (NaN when permutations were switched off, e.g. for pooled analysis), weighted when a population prior
    was applied.
    """

    spec: LinkSpec
    correlations: tuple[float, ...]
    pairs: tuple[int, ...]
    best_lag: int
    r: float
    ci_low: float
    ci_high: float
    lag_probability: float
    lag_range: tuple[int, int]
    p_value: float
    q_value: float
    significant: bool
    min_detectable_r: float
    reliability: str
    prior_weight: float = 1.0  # share of the FDR budget from a population prior (population_prior.py)


@dataclass(frozen=True)
class AnalysisSettings:
    permutations: int = 1999
    fdr: float = 0.05
    min_pairs: int = 30
    seed: int = 0
    lag_draws: int = 2000


def analyse_links(
    specs: list[LinkSpec],
    whitened: dict[tuple[str, str], Whitened],
    settings: AnalysisSettings,
) -> tuple[LinkResult, ...]:
    """Test every link whose two streams could be whitened; `whitened` is keyed by (resolution, metric)."""
    rng = np.random.default_rng(settings.seed)
    usable = [s for s in specs if (s.resolution, s.cause) in whitened and (s.resolution, s.effect) in whitened]
    profiles = {
        id(s): _profile(whitened[(s.resolution, s.cause)], whitened[(s.resolution, s.effect)], s) for s in usable
    }
    # Links without enough aligned pairs are reported (graded insufficient) but not tested, so they
    # neither spend the FDR budget nor appear as discoveries.
    testable = [s for s in usable if profiles[id(s)][1].max(initial=0) >= settings.min_pairs]
    p_values = _permutation_p_values(testable, whitened, profiles, settings, rng) if settings.permutations else {}
    tests = sum(len(s.lags) for s in testable)
    ordered = [p_values.get(id(s), np.nan) for s in usable]
    q_values, rejected = benjamini_hochberg(np.asarray(ordered, dtype=float), settings.fdr)
    threshold = float(stats.norm.isf(settings.fdr / (2 * max(tests, 1))))
    out = []
    for k, spec in enumerate(usable):
        r, pairs = profiles[id(spec)]
        out.append(_result(spec, r, pairs, ordered[k], float(q_values[k]), bool(rejected[k]), threshold, settings, rng))
    return tuple(out)


def _profile(cause: Whitened, effect: Whitened, spec: LinkSpec) -> tuple[np.ndarray, np.ndarray]:
    """Correlation of cause innovations at t with effect innovations at t + lag, for each lag."""
    u, v = cause.innovations, effect.innovations
    r = np.full(len(spec.lags), np.nan)
    pairs = np.zeros(len(spec.lags), dtype=int)
    n = len(u)
    for k, lag in enumerate(spec.lags):
        if lag >= n:
            continue
        a, b = u[: n - lag], v[lag:]
        both = np.isfinite(a) & np.isfinite(b)
        pairs[k] = int(both.sum())
        if pairs[k] >= 3:
            r[k] = float(np.clip((a[both] @ b[both]) / pairs[k], -1.0, 1.0))
    return r, pairs


def _permutation_p_values(
    specs: list[LinkSpec],
    whitened: dict[tuple[str, str], Whitened],
    profiles: dict[int, tuple[np.ndarray, np.ndarray]],
    settings: AnalysisSettings,
    rng: np.random.Generator,
) -> dict[int, float]:
    """Max-|z| permutation p-values, one permutation matrix per cause stream shared by its links.

    Sequential (Besag–Clifford style): every link first meets `SCREEN` permutations; a link already
    exceeded `SCREEN_HITS` times has p > ~0.1, which no FDR procedure will reject, and keeps that estimate;
    only the rest see all `settings.permutations`. Most links are null, so this is most of the saving.
    """
    by_cause: dict[tuple[str, str], list[LinkSpec]] = {}
    for spec in specs:
        by_cause.setdefault((spec.resolution, spec.cause), []).append(spec)
    out: dict[int, float] = {}
    b = settings.permutations
    screen = min(SCREEN, b)
    for key, links in by_cause.items():
        u = whitened[key].innovations
        # Only times where the cause was observed contribute to any sum, so the product runs over those,
        # grouped by phase so that a within-phase shuffle permutes contiguous blocks.
        period = whitened[key].period or 1
        observed_at = np.flatnonzero(np.isfinite(u))
        present = observed_at[np.argsort(observed_at % period, kind="stable")]
        values = u[present].astype(np.float32)
        blocks = np.flatnonzero(np.diff(present % period)) + 1
        first = _shuffle_blocks(values, blocks, screen, rng)
        rest: np.ndarray | None = None
        observed = {id(s): _max_z(*profiles[id(s)]) for s in links}
        columns = {id(s): _shifted_columns(s, whitened, profiles, present) for s in links}
        hits = {id(s): _exceedances(first, columns[id(s)], observed[id(s)]) for s in links}
        for spec in links:
            k = id(spec)
            if hits[k] >= SCREEN_HITS or screen == b:
                out[k] = (1 + hits[k]) / (screen + 1)
                continue
            if rest is None:
                rest = _shuffle_blocks(values, blocks, b - screen, rng)
            out[k] = (1 + hits[k] + _exceedances(rest, columns[k], observed[k])) / (b + 1)
    return out


SCREEN = 199
SCREEN_HITS = 20


def _shuffle_blocks(values: np.ndarray, blocks: np.ndarray, rows: int, rng: np.random.Generator) -> np.ndarray:
    """`rows` independent permutations of `values`, each shuffling only inside the blocks that start at
    the `blocks` offsets (one block per phase)."""
    out = np.tile(values, (rows, 1))
    for start, end in zip(np.r_[0, blocks], np.r_[blocks, len(values)], strict=True):
        out[:, start:end] = rng.permuted(out[:, start:end], axis=1)
    return out


def _max_z(r: np.ndarray, pairs: np.ndarray) -> float:
    return float(np.nanmax(np.abs(r) * np.sqrt(pairs))) if np.isfinite(r).any() else 0.0


def _shifted_columns(
    spec: LinkSpec,
    whitened: dict[tuple[str, str], Whitened],
    profiles: dict[int, tuple[np.ndarray, np.ndarray]],
    present: np.ndarray,
) -> np.ndarray:
    """Effect innovations at t + lag for each observed cause time t, scaled so a dot product is a z."""
    v = whitened[(spec.resolution, spec.effect)].innovations
    _, pairs = profiles[id(spec)]
    cols = np.zeros((len(present), len(spec.lags)), dtype=np.float32)
    for k, (lag, count) in enumerate(zip(spec.lags, pairs, strict=True)):
        target = present + lag
        inside = target < len(v)
        ahead = np.zeros(len(present))
        ahead[inside] = v[target[inside]]
        cols[:, k] = np.where(np.isfinite(ahead), ahead, 0.0) / np.sqrt(max(int(count), 1))
    return cols


def _exceedances(permuted: np.ndarray, columns: np.ndarray, observed: float) -> int:
    if len(permuted) == 0:
        return 0
    null_max = np.abs(permuted @ columns).max(axis=1)
    return int(np.sum(null_max >= observed - 1e-6))


def _result(
    spec: LinkSpec,
    r: np.ndarray,
    pairs: np.ndarray,
    p_value: float,
    q_value: float,
    significant: bool,
    threshold: float,
    settings: AnalysisSettings,
    rng: np.random.Generator,
) -> LinkResult:
    z = np.where(np.isfinite(r), np.abs(r) * np.sqrt(pairs), -np.inf)
    best = int(np.argmax(z))
    n_best = int(pairs[best])
    r_best = float(r[best]) if np.isfinite(r[best]) else 0.0
    half = Z_95 / np.sqrt(max(n_best - 3, 1))
    centre = np.arctanh(np.clip(r_best, -0.999, 0.999))
    lag_prob, lag_range = _lag_uncertainty(r, pairs, best, spec.lags, settings.lag_draws, rng)
    # Smallest |r| this much data detects with 80% power at a Bonferroni threshold over all tests: a
    # conservative, data-volume-only grade the app can turn into "not enough data yet".
    mdr = float(np.tanh((threshold + Z_POWER_80) / np.sqrt(max(n_best - 3, 1))))
    return LinkResult(
        spec=spec,
        correlations=tuple(float(x) for x in r),
        pairs=tuple(int(x) for x in pairs),
        best_lag=spec.lags[best],
        r=r_best,
        ci_low=float(np.tanh(centre - half)),
        ci_high=float(np.tanh(centre + half)),
        lag_probability=lag_prob,
        lag_range=lag_range,
        p_value=p_value,
        q_value=q_value,
        significant=significant,
        min_detectable_r=mdr,
        reliability=_grade(n_best, mdr, settings.min_pairs),
    )


def _lag_uncertainty(
    r: np.ndarray, pairs: np.ndarray, best: int, lags: tuple[int, ...], draws: int, rng: np.random.Generator
) -> tuple[float, tuple[int, int]]:
    """Share of resampled profiles peaking at the best lag, and the range of lags that peak ≥ 5% of the time.

    Innovation cross-correlations at different lags are nearly independent with SE 1/sqrt(pairs), so a
    parametric resample of the profile is a cheap stand-in for a bootstrap.
    """
    if len(lags) == 1:
        return 1.0, (lags[0], lags[0])
    z = np.where(np.isfinite(r), r * np.sqrt(pairs), 0.0)
    resampled = np.abs(z[None, :] + rng.standard_normal((draws, len(lags))))
    peaks = np.bincount(np.argmax(resampled, axis=1), minlength=len(lags)) / draws
    likely = [lags[k] for k in range(len(lags)) if peaks[k] >= 0.05] or [lags[best]]
    return float(peaks[best]), (min(likely), max(likely))


def _grade(pairs: int, min_detectable_r: float, min_pairs: int) -> str:
    if pairs < min_pairs:
        return INSUFFICIENT
    if min_detectable_r <= 0.3:
        return HIGH
    if min_detectable_r <= 0.45:
        return MODERATE
    return LOW
