"""Borrowing strength per patient: what other patients show becomes p-value weights for this one.

One patient's 180 days reveal an innovation correlation of 0.3 only about four times in five once 30
links share the FDR budget (docs/benchmarks.md): the ceiling is statistical, not the method's. Links that a
pooled analysis of *other* patients finds are more likely real in this patient too, so weighted
Benjamini–Hochberg gives them a larger share of the budget and every other link a smaller one. The FDR
stays at most q when the weights average one over the patient's tested links and were chosen without
this patient's data — hence "other patients": pool a cohort that excludes the patient (the evaluation
cross-fits two halves). The price is paid by links the population shows but this patient lacks: their
threshold is `boost` times higher, so their false-positive rate rises; the evaluation measures it on a
cohort where each planted link is carried by only half the patients.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np

from twin_engine.correlations.analysis import PatientCorrelations
from twin_engine.correlations.fdr import weighted_benjamini_hochberg
from twin_engine.correlations.lagged import LinkSpec
from twin_engine.correlations.pooled import PooledLink, pool


@dataclass(frozen=True)
class PopulationPrior:
    """Links a pooled analysis of other patients found, and how much of the FDR budget they may take.

    `boost` is the weight of a supported link and `floor` the least weight any other link keeps; when
    many links are supported the boost shrinks so that the weights still average one above the floor.
    """

    supported: frozenset[LinkSpec]
    boost: float = 4.0
    floor: float = 0.5

    def __post_init__(self) -> None:
        if not (self.boost >= 1.0 and 0.0 < self.floor <= 1.0):
            raise ValueError("a population prior needs boost >= 1 and 0 < floor <= 1")

    def weights(self, specs: list[LinkSpec]) -> np.ndarray:
        """Weights averaging one over `specs` (all ones when none or all of them are supported)."""
        m = len(specs)
        hit = np.array([s in self.supported for s in specs], dtype=bool)
        s = int(hit.sum())
        if s in (0, m):
            return np.ones(m)
        boost = min(self.boost, (m - self.floor * (m - s)) / s)
        return np.where(hit, boost, (m - s * boost) / (m - s))


def prior_from_pool(pooled: Iterable[PooledLink], boost: float = 4.0, floor: float = 0.5) -> PopulationPrior:
    """The prior from a pooled analysis (`pool`) of patients other than the ones it will be applied to."""
    return PopulationPrior(frozenset(link.spec for link in pooled if link.significant), boost, floor)


def apply_prior(analysis: PatientCorrelations, prior: PopulationPrior) -> PatientCorrelations:
    """The same analysis with q-values and significance from weighted BH; p-values and effects unchanged."""
    tested = [link for link in analysis.links if np.isfinite(link.p_value)]
    if not tested:
        return analysis
    weights = prior.weights([link.spec for link in tested])
    p_values = np.array([link.p_value for link in tested])
    q_values, rejected = weighted_benjamini_hochberg(p_values, weights, analysis.config.settings.fdr)
    updated = {
        id(link): replace(link, q_value=float(q), significant=bool(r), prior_weight=float(w))
        for link, q, r, w in zip(tested, q_values, rejected, weights, strict=True)
    }
    return replace(analysis, links=tuple(updated.get(id(link), link) for link in analysis.links))


def cross_fitted(analyses: dict[str, PatientCorrelations], folds: int = 2) -> dict[str, PatientCorrelations]:
    """Every patient re-decided with a prior pooled from the *other* folds only, so no patient's own data
    shapes its weights (what keeps weighted BH's guarantee). With one fold or one patient nothing changes."""
    subjects = sorted(analyses)
    out = dict(analyses)
    if folds < 2 or len(subjects) < 2:
        return out
    for fold in range(folds):
        inside = set(subjects[fold::folds])
        others = {s: analyses[s] for s in subjects if s not in inside}
        prior = prior_from_pool(pool(others))
        for s in inside:
            out[s] = apply_prior(analyses[s], prior)
    return out
