"""Episode frame -> feature matrix for the response model, with or without the pharmacogenomic columns.

The genotype-blind baseline is the same model on `feature_names(genotype=False)`: dropping exactly the
phenotype columns is what makes the Brier-skill comparison measure the value of genotype and nothing else.
Phenotypes are ordinal activity codes (PM=0 … UM=4) and NaN when untested or indeterminate, which XGBoost
routes down a learned default branch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin_engine.pharmacogenomics.response import catalogue
from twin_engine.pharmacogenomics.response.errors import InvalidPatientProfileError
from twin_engine.simulate import pgx_cohort as cols

CLINICAL_NUMERIC: tuple[str, ...] = (
    cols.AGE,
    cols.FEMALE,
    cols.PRIOR_FAILURES,
    cols.PRIOR_SAME_CLASS_FAILURE,
    *cols.COMORBIDITIES,
)
PHENOTYPE_CODES: dict[str, float] = {p: float(i) for i, p in enumerate(cols.PHENOTYPES)}
# CPIC's phenotype spellings (see pharmacogenomics.models) -> our five categories; "Likely" calls count as made.
_CPIC_PHENOTYPES: dict[str, str] = {
    "poor metabolizer": "PM",
    "likely poor metabolizer": "PM",
    "intermediate metabolizer": "IM",
    "likely intermediate metabolizer": "IM",
    "normal metabolizer": "NM",
    "rapid metabolizer": "RM",
    "ultrarapid metabolizer": "UM",
}
_UNKNOWN = frozenset({"", "indeterminate", "no result", "unknown", "nan", "none"})


def phenotype_category(text: str | None) -> str | None:
    """`PM`…`UM` for a CPIC phenotype string or short code; None for untested/indeterminate."""
    if text is None or str(text).strip().lower() in _UNKNOWN:
        return None
    key = str(text).strip()
    if key.upper() in PHENOTYPE_CODES:
        return key.upper()
    found = _CPIC_PHENOTYPES.get(key.lower())
    if found is None:
        raise InvalidPatientProfileError(f"phenotype {text!r} is not a metabolizer phenotype the model knows")
    return found


def feature_names(genotype: bool) -> tuple[str, ...]:
    """Column order of `features(…, genotype)`."""
    base = (
        *(f"med={m}" for m in catalogue.NAMES),
        *(f"dx={d}" for d in cols.DIAGNOSES),
        "antidepressant_in_bipolar",
        *CLINICAL_NUMERIC,
    )
    if not genotype:
        return base
    drug_genes = tuple(f"drug_gene_{k + 1}_phenotype" for k in range(catalogue.MAX_GENES_PER_DRUG))
    return (*base, *(f"{g}_phenotype" for g in cols.GENES), *drug_genes)


def _phenotype_codes(values: pd.Series) -> np.ndarray:
    return np.asarray([np.nan if (c := phenotype_category(v)) is None else PHENOTYPE_CODES[c] for v in values])


def features(frame: pd.DataFrame, genotype: bool) -> np.ndarray:
    """(rows, features) float matrix; raises for unknown medications, diagnoses or phenotypes."""
    meds = [catalogue.info(m) for m in frame[cols.MEDICATION]]
    names = [m.name for m in meds]
    dx = frame[cols.DIAGNOSIS].to_numpy()
    unknown = set(dx) - set(cols.DIAGNOSES)
    if unknown:
        raise InvalidPatientProfileError(f"unknown diagnoses {sorted(unknown)}; the model knows {cols.DIAGNOSES}")
    parts = [
        (np.asarray(names)[:, None] == np.asarray(catalogue.NAMES)[None, :]).astype(float),
        (dx[:, None] == np.asarray(cols.DIAGNOSES)[None, :]).astype(float),
        ((dx == "bipolar_depression") & np.asarray([m.antidepressant for m in meds]))[:, None].astype(float),
        frame[list(CLINICAL_NUMERIC)].to_numpy(float),
    ]
    if genotype:
        per_gene = {gene: _phenotype_codes(frame[gene]) for gene in cols.GENES}
        parts.append(np.column_stack([per_gene[g] for g in cols.GENES]))
        rows = np.arange(len(frame))
        for k in range(catalogue.MAX_GENES_PER_DRUG):
            gene_of_row = [m.genes[k] if len(m.genes) > k else None for m in meds]
            stacked = np.column_stack([per_gene[g] for g in cols.GENES] + [np.full(len(frame), np.nan)])
            which = np.asarray([cols.GENES.index(g) if g else len(cols.GENES) for g in gene_of_row], dtype=np.int64)
            parts.append(stacked[rows, which][:, None])
    return np.column_stack(parts)
