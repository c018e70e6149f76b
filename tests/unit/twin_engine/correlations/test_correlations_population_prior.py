"""Borrowing strength per patient: weighted BH with a prior pooled from other patients."""

from dataclasses import replace

import numpy as np
import pytest

from twin_engine import frames
from twin_engine.correlations import AnalysisSettings, CorrelationConfig, analyse_patient
from twin_engine.correlations.analysis import PatientCorrelations
from twin_engine.correlations.fdr import benjamini_hochberg, weighted_benjamini_hochberg
from twin_engine.correlations.population_prior import PopulationPrior, apply_prior, cross_fitted
from twin_engine.simulate.couplings import Coupling, CouplingConfig, simulate_couplings

SLEEP_MOOD = Coupling(frames.SLEEP_HOURS, frames.MOOD, 1, 0.3, 0.3)


def test_unit_weights_are_plain_benjamini_hochberg() -> None:
    p = np.array([0.001, 0.01, 0.02, 0.04, 0.3, np.nan])
    plain = benjamini_hochberg(p, 0.05)
    weighted = weighted_benjamini_hochberg(p, np.ones(6), 0.05)
    np.testing.assert_array_equal(plain[1], weighted[1])
    np.testing.assert_allclose(plain[0], weighted[0])


def test_a_boosted_hypothesis_is_rejected_where_plain_bh_is_not() -> None:
    p = np.array([0.01] + [0.5] * 9)
    assert not benjamini_hochberg(p, 0.05)[1][0]
    weights = np.array([5.0] + [5.0 / 9] * 9)
    assert weighted_benjamini_hochberg(p, weights, 0.05)[1][0]


def test_a_zero_weight_never_rejects() -> None:
    _, rejected = weighted_benjamini_hochberg(np.array([1e-9, 0.5]), np.array([0.0, 2.0]), 0.05)
    assert not rejected[0]


def test_negative_weights_are_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        weighted_benjamini_hochberg(np.array([0.1]), np.array([-1.0]), 0.05)


def _spec(analysis: PatientCorrelations, cause: str, effect: str):  # type: ignore[no-untyped-def]
    return next(link.spec for link in analysis.links if (link.spec.cause, link.spec.effect) == (cause, effect))


def _only_target_moderate(analysis: PatientCorrelations, target) -> PatientCorrelations:  # type: ignore[no-untyped-def]
    """Every tested link null-looking except `target` at p = 0.005: plain BH over 30 links misses it (q 0.15)."""
    links = tuple(
        replace(link, p_value=0.005 if link.spec == target else 0.6) if np.isfinite(link.p_value) else link
        for link in analysis.links
    )
    return replace(analysis, links=links)


@pytest.fixture(scope="module")
def analysis() -> PatientCorrelations:
    cohort = simulate_couplings(CouplingConfig(n_patients=1, days=120, seed=4, couplings=(SLEEP_MOOD,)))
    return analyse_patient(cohort.observations, CorrelationConfig(settings=AnalysisSettings(permutations=99)))


def test_prior_weights_average_one_and_keep_the_floor(analysis: PatientCorrelations) -> None:
    specs = [link.spec for link in analysis.links]
    for supported in (specs[:1], specs[:4], specs[: len(specs) - 1]):
        weights = PopulationPrior(frozenset(supported), boost=4.0, floor=0.5).weights(specs)
        assert weights.mean() == pytest.approx(1.0)
        assert weights.min() >= 0.5 - 1e-12


def test_a_prior_supporting_nothing_changes_nothing(analysis: PatientCorrelations) -> None:
    unchanged = apply_prior(analysis, PopulationPrior(frozenset()))
    assert [link.significant for link in unchanged.links] == [link.significant for link in analysis.links]
    assert all(link.prior_weight == 1.0 for link in unchanged.links)


def test_a_link_the_population_shows_is_found_at_a_p_value_plain_bh_would_miss(analysis: PatientCorrelations) -> None:
    target = _spec(analysis, frames.SLEEP_HOURS, frames.MOOD)
    decided = apply_prior(_only_target_moderate(analysis, target), PopulationPrior(frozenset({target})))
    (link,) = [link for link in decided.links if link.spec == target]
    assert link.significant and link.prior_weight == pytest.approx(4.0) and link.p_value == 0.005
    assert not any(other.significant for other in decided.links if other.spec != target)


def test_cross_fitting_leaves_a_single_patient_alone(analysis: PatientCorrelations) -> None:
    assert cross_fitted({"only": analysis})["only"] is analysis


def test_a_coupling_carried_by_half_the_patients_is_zero_in_the_others() -> None:
    half = replace(SLEEP_MOOD, prevalence=0.5)
    truth = simulate_couplings(CouplingConfig(n_patients=400, days=14, seed=1, couplings=(half,))).truth
    carriers = (truth["size"] != 0).mean()
    assert 0.4 < carriers < 0.6 and set(truth["size"].round(6)) == {0.0, 0.3}


def test_full_prevalence_draws_the_same_cohort_as_before_prevalence_existed() -> None:
    config = CouplingConfig(n_patients=3, days=14, seed=9, couplings=(SLEEP_MOOD,))
    explicit = replace(config, couplings=(replace(SLEEP_MOOD, prevalence=1.0),))
    first, second = simulate_couplings(config).observations, simulate_couplings(explicit).observations
    assert first.equals(second)


def test_an_insight_found_with_the_population_prior_says_so(analysis: PatientCorrelations) -> None:
    from twin_engine.correlations import clinical_insights

    target = _spec(analysis, frames.SLEEP_HOURS, frames.MOOD)
    decided = apply_prior(_only_target_moderate(analysis, target), PopulationPrior(frozenset({target})))
    (insight,) = [i for i in clinical_insights(decided) if i.link is not None and i.link.spec == target]
    assert "Other patients commonly show this link too" in insight.text
