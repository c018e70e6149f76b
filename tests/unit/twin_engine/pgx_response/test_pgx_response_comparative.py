import math

import pytest

from twin_engine.pharmacogenomics.response import (
    DISCLAIMER,
    InvalidPatientProfileError,
    PatientProfile,
    UnknownMedicationError,
    compare_medications,
)
from twin_engine.pharmacogenomics.response.features import features
from twin_engine.pharmacogenomics.response.training import TrainingResult

CANDIDATES = ("escitalopram", "sertraline", "bupropion", "mirtazapine", "quetiapine")


def profile(**overrides: object) -> PatientProfile:
    base: dict[str, object] = {
        "diagnosis": "MDD",
        "age": 38,
        "female": True,
        "phenotypes": {"CYP2C19": "Poor Metabolizer", "CYP2D6": "NM", "CYP2B6": "Indeterminate"},
        "comorbidities": frozenset({"insomnia"}),
        "failed_medications": ("citalopram",),
    }
    return PatientProfile(**{**base, **overrides})  # type: ignore[arg-type]


def test_rankings_order_by_efficacy_risk_and_balance(trained: TrainingResult) -> None:
    analysis = compare_medications(trained.bundle.model, profile(), CANDIDATES, model_version="test")
    eff = [e.response_probability for e in analysis.highest_efficacy]
    risk = [e.max_side_effect_risk for e in analysis.lowest_side_effect_risk]
    bal = [e.balance for e in analysis.optimal_balance]
    assert eff == sorted(eff, reverse=True) and risk == sorted(risk) and bal == sorted(bal, reverse=True)
    assert {e.medication for e in analysis.optimal_balance} == set(CANDIDATES)
    for e in analysis.optimal_balance:
        assert e.balance == pytest.approx(e.response_probability * (1 - max(r for _, r in e.side_effect_risks)))


def test_every_entry_carries_the_fixed_disclaimer(trained: TrainingResult) -> None:
    analysis = compare_medications(trained.bundle.model, profile(), CANDIDATES)
    assert DISCLAIMER == (
        "Clinical judgement remains essential; these are model estimates from simulated training data, "
        "not clinical guidance."
    )
    assert analysis.disclaimer == DISCLAIMER
    assert all(e.disclaimer == DISCLAIMER for e in analysis.highest_efficacy)


def test_profile_marks_same_class_failures_and_unknown_phenotypes() -> None:
    frame = profile().episodes(("escitalopram", "bupropion"))
    assert frame["prior_same_class_failure"].tolist() == [1, 0] and frame["prior_failures"].tolist() == [1, 1]
    x = features(frame, genotype=True)
    assert math.isnan(x[1, -2])  # bupropion's gene (CYP2B6) is indeterminate -> unknown to the trees


def test_unknown_inputs_are_refused_with_typed_errors(trained: TrainingResult) -> None:
    with pytest.raises(InvalidPatientProfileError):
        profile(diagnosis="schizophrenia")
    with pytest.raises(InvalidPatientProfileError):
        profile(phenotypes={"CYP2C19": "Poor Function"})
    with pytest.raises(UnknownMedicationError):
        compare_medications(trained.bundle.model, profile(), ("clozapine",))
