"""Comparative analysis of candidate medications: highest efficacy, lowest side-effect risk, optimal balance.

Balance = P(response) x (1 - max side-effect risk), the design documents' definition. Every entry and the
analysis itself carry the fixed `DISCLAIMER`: the estimates come from a model trained on simulated episodes.
"""

from __future__ import annotations

from dataclasses import dataclass

from twin_engine.pharmacogenomics.response import catalogue
from twin_engine.pharmacogenomics.response.errors import MedicationResponseError
from twin_engine.pharmacogenomics.response.model import MedicationResponseModel
from twin_engine.pharmacogenomics.response.profile import PatientProfile
from twin_engine.simulate.pgx_cohort import MEDICATION, RESPONSE, SIDE_EFFECTS

DISCLAIMER = (
    "Clinical judgement remains essential; these are model estimates from simulated training data, "
    "not clinical guidance."
)


@dataclass(frozen=True)
class MedicationEstimate:
    """One candidate's estimated response and side-effect probabilities (calibrated on held-out episodes)."""

    medication: str
    drug_class: str
    response_probability: float
    side_effect_risks: tuple[tuple[str, float], ...]
    max_side_effect_risk: float
    balance: float
    disclaimer: str = DISCLAIMER


@dataclass(frozen=True)
class ComparativeAnalysis:
    """The same estimates in three orders; ties keep the candidates' order."""

    highest_efficacy: tuple[MedicationEstimate, ...]
    lowest_side_effect_risk: tuple[MedicationEstimate, ...]
    optimal_balance: tuple[MedicationEstimate, ...]
    model_version: str | None
    disclaimer: str = DISCLAIMER


def estimate_medications(
    model: MedicationResponseModel, profile: PatientProfile, candidates: tuple[str, ...] | None = None
) -> tuple[MedicationEstimate, ...]:
    """Estimates for each candidate (default: the whole catalogue), in candidate order."""
    names = candidates if candidates is not None else catalogue.NAMES
    if not names:
        raise MedicationResponseError("no candidate medications given")
    frame = profile.episodes(tuple(names))
    p = model.predict(frame)
    out = []
    for i, name in enumerate(frame[MEDICATION]):
        risks = tuple((s, float(p[s][i])) for s in SIDE_EFFECTS)
        worst = max(r for _, r in risks)
        response = float(p[RESPONSE][i])
        out.append(
            MedicationEstimate(name, catalogue.info(name).drug_class, response, risks, worst, response * (1.0 - worst))
        )
    return tuple(out)


def compare_medications(
    model: MedicationResponseModel,
    profile: PatientProfile,
    candidates: tuple[str, ...] | None = None,
    model_version: str | None = None,
) -> ComparativeAnalysis:
    """Rank candidates by efficacy (descending), max side-effect risk (ascending) and balance (descending)."""
    estimates = estimate_medications(model, profile, candidates)
    return ComparativeAnalysis(
        highest_efficacy=tuple(sorted(estimates, key=lambda e: -e.response_probability)),
        lowest_side_effect_risk=tuple(sorted(estimates, key=lambda e: e.max_side_effect_risk)),
        optimal_balance=tuple(sorted(estimates, key=lambda e: -e.balance)),
        model_version=model_version,
    )
