"""Pooling links across patients (random-effects meta-analysis) to borrow strength.

Published within-person effects of sleep, HRV and activity on mood are small (r ≈ 0.05–0.12), far below
what one patient's 90 days can reveal, but a cohort can. Per lag, patients' Fisher-z correlations are
combined with DerSimonian–Laird random effects (patients may differ in their true effect); a link's
p-value is the Šidák-adjusted smallest per-lag p-value (innovation correlations at different lags are
nearly independent), and Benjamini–Hochberg runs across links. Each patient also gets an empirical-Bayes
estimate shrunk toward the pooled one, which is what a patient with little data should be told.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from twin_engine.correlations.analysis import PatientCorrelations
from twin_engine.correlations.fdr import benjamini_hochberg
from twin_engine.correlations.lagged import Z_95, LinkSpec


@dataclass(frozen=True)
class PooledLink:
    """The population-level answer for one link across `patients` patients."""

    spec: LinkSpec
    patients: int
    best_lag: int
    r: float
    ci_low: float
    ci_high: float
    heterogeneity_sd: float  # between-patient SD of the Fisher-z effect (tau)
    p_value: float
    q_value: float
    significant: bool
    shrunken: dict[str, float]  # subject_id -> empirical-Bayes correlation at the best lag


@dataclass(frozen=True)
class _LagEstimate:
    mean: float
    se: float
    tau2: float


def pool(analyses: dict[str, PatientCorrelations], fdr: float = 0.05, min_pairs: int = 10) -> tuple[PooledLink, ...]:
    """Pool every link seen in at least two patients; `analyses` maps subject_id to its analysis."""
    rows: dict[LinkSpec, list[tuple[str, np.ndarray, np.ndarray]]] = {}
    for subject, analysis in analyses.items():
        for link in analysis.links:
            rows.setdefault(link.spec, []).append(
                (subject, np.asarray(link.correlations, dtype=float), np.asarray(link.pairs, dtype=float))
            )
    specs = [s for s, members in rows.items() if len(members) >= 2]
    estimates = {s: [_random_effects(rows[s], k, min_pairs) for k in range(len(s.lags))] for s in specs}
    p_values = np.array([_link_p(estimates[s]) for s in specs])
    q_values, rejected = benjamini_hochberg(p_values, fdr)
    out = []
    for i, spec in enumerate(specs):
        per_lag = estimates[spec]
        z = [abs(e.mean / e.se) if e is not None and e.se > 0 else -1.0 for e in per_lag]
        best = int(np.argmax(z))
        est = per_lag[best]
        if est is None:
            continue
        out.append(
            PooledLink(
                spec=spec,
                patients=len(rows[spec]),
                best_lag=spec.lags[best],
                r=float(np.tanh(est.mean)),
                ci_low=float(np.tanh(est.mean - Z_95 * est.se)),
                ci_high=float(np.tanh(est.mean + Z_95 * est.se)),
                heterogeneity_sd=float(np.sqrt(est.tau2)),
                p_value=float(p_values[i]),
                q_value=float(q_values[i]),
                significant=bool(rejected[i]),
                shrunken=_shrink(rows[spec], best, est, min_pairs),
            )
        )
    return tuple(out)


def _random_effects(members: list[tuple[str, np.ndarray, np.ndarray]], k: int, min_pairs: int) -> _LagEstimate | None:
    r = np.array([m[1][k] for m in members])
    n = np.array([m[2][k] for m in members])
    ok = np.isfinite(r) & (n >= min_pairs)
    if ok.sum() < 2:
        return None
    z = np.arctanh(np.clip(r[ok], -0.999, 0.999))
    v = 1.0 / (n[ok] - 3.0)
    w = 1.0 / v
    fixed = float(np.sum(w * z) / np.sum(w))
    q = float(np.sum(w * (z - fixed) ** 2))
    denom = float(np.sum(w) - np.sum(w**2) / np.sum(w))
    tau2 = max(0.0, (q - (ok.sum() - 1)) / denom) if denom > 0 else 0.0
    w_star = 1.0 / (v + tau2)
    return _LagEstimate(float(np.sum(w_star * z) / np.sum(w_star)), float(np.sqrt(1.0 / np.sum(w_star))), tau2)


def _link_p(per_lag: list[_LagEstimate | None]) -> float:
    ps = [2 * stats.norm.sf(abs(e.mean / e.se)) for e in per_lag if e is not None and e.se > 0]
    if not ps:
        return float("nan")
    return float(1.0 - (1.0 - min(ps)) ** len(ps))


def _shrink(
    members: list[tuple[str, np.ndarray, np.ndarray]], k: int, est: _LagEstimate, min_pairs: int
) -> dict[str, float]:
    out = {}
    for subject, r, n in members:
        if not np.isfinite(r[k]) or n[k] < 4:
            out[subject] = float(np.tanh(est.mean))
            continue
        v = 1.0 / (n[k] - 3.0)
        weight = est.tau2 / (est.tau2 + v) if n[k] >= min_pairs else 0.0
        out[subject] = float(np.tanh(est.mean + weight * (np.arctanh(np.clip(r[k], -0.999, 0.999)) - est.mean)))
    return out
