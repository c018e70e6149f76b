"""Estimate exposure fold-changes back from therapeutic-drug-monitoring levels and score them against the truth.

Per drug, ordinary least squares of the measured log exposure on indicators of each non-normal phenotype of
the drug's metabolising gene(s) (normal metabolizers are the reference), so exp(coefficient) is the fold-change
and a 95% interval comes from the usual OLS standard error. Only the catalogue's genes enter, as a lab would
analyse it; the planted values are read only to score the estimates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from twin_engine.pharmacogenomics.response import catalogue
from twin_engine.simulate import pgx_cohort as cols

TOLERANCE = 0.15  # |estimate / planted - 1|


@dataclass(frozen=True)
class FoldChangeEstimate:
    """Estimated exposure of `phenotype` carriers of `gene` relative to normal metabolizers, with a 95% CI."""

    medication: str
    gene: str
    phenotype: str
    estimate: float
    ci_low: float
    ci_high: float
    n: int


@dataclass(frozen=True)
class FoldChangeRecovery:
    """A planted fold-change beside its estimate; `within_tolerance` is False when nothing was measured."""

    medication: str
    gene: str
    phenotype: str
    planted: float
    estimate: float
    ci_low: float
    ci_high: float
    n: int
    relative_error: float

    @property
    def within_tolerance(self) -> bool:
        return bool(np.isfinite(self.relative_error) and abs(self.relative_error) <= TOLERANCE)


def _drug_estimates(rows: pd.DataFrame, med: catalogue.MedicationInfo) -> list[FoldChangeEstimate]:
    cells = [
        (gene, ph)
        for gene in med.genes
        for ph in cols.PHENOTYPES
        if ph != cols.REFERENCE_PHENOTYPE and (rows[gene] == ph).any()
    ]
    y = rows[cols.TDM_LOG_EXPOSURE].to_numpy(float)
    x = np.column_stack([np.ones(len(rows))] + [(rows[g] == ph).to_numpy(float) for g, ph in cells])
    if len(rows) <= x.shape[1]:
        return []
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ coef
    sigma2 = float(resid @ resid) / (len(rows) - x.shape[1])
    se = np.sqrt(np.diag(sigma2 * np.linalg.pinv(x.T @ x)))
    return [
        FoldChangeEstimate(
            med.name,
            g,
            ph,
            float(np.exp(coef[k + 1])),
            float(np.exp(coef[k + 1] - 1.96 * se[k + 1])),
            float(np.exp(coef[k + 1] + 1.96 * se[k + 1])),
            int((rows[g] == ph).sum()),
        )
        for k, (g, ph) in enumerate(cells)
    ]


def estimate_fold_changes(episodes: pd.DataFrame) -> tuple[FoldChangeEstimate, ...]:
    """Fold-change estimates for every (drug, gene, non-normal phenotype) with measured levels."""
    measured = episodes[episodes[cols.TDM_LOG_EXPOSURE].notna()]
    found: list[FoldChangeEstimate] = []
    for med in catalogue.CATALOGUE:
        if med.genes:
            found.extend(_drug_estimates(measured[measured[cols.MEDICATION] == med.name], med))
    return tuple(found)


def recover_fold_changes(cohort: cols.PgxCohort) -> tuple[FoldChangeRecovery, ...]:
    """Every planted fold-change of `cohort` beside its estimate from the cohort's TDM levels."""
    estimates = {(e.medication, e.gene, e.phenotype): e for e in estimate_fold_changes(cohort.episodes)}
    out = []
    for planted in cohort.fold_changes:
        e = estimates.get((planted.medication, planted.gene, planted.phenotype))
        est, lo, hi, n = (e.estimate, e.ci_low, e.ci_high, e.n) if e else (np.nan, np.nan, np.nan, 0)
        out.append(
            FoldChangeRecovery(
                planted.medication,
                planted.gene,
                planted.phenotype,
                planted.fold_change,
                est,
                lo,
                hi,
                n,
                est / planted.fold_change - 1.0,
            )
        )
    return tuple(out)
