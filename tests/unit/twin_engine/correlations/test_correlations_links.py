"""Within-patient link detection on simulated patients whose couplings are known."""

import numpy as np
import pandas as pd
import pytest

from twin_engine import frames
from twin_engine.correlations import AnalysisSettings, CorrelationConfig, analyse_patient
from twin_engine.correlations.lagged import BIOMETRIC_TO_SYMPTOM, INSUFFICIENT, SYMPTOM_TO_BIOMETRIC
from twin_engine.errors import FrameSchemaError, InsufficientDataError
from twin_engine.simulate.couplings import Coupling, CouplingConfig, simulate_couplings

STRONG = (
    Coupling(frames.SLEEP_HOURS, frames.MOOD, 2, 0.6, 0.6),
    Coupling(frames.ANXIETY, frames.RESTING_HR, 1, 0.6, 0.6),
)


def _patient(days: int, couplings: tuple[Coupling, ...] = STRONG, seed: int = 1) -> pd.DataFrame:
    cohort = simulate_couplings(CouplingConfig(n_patients=1, days=days, seed=seed, couplings=couplings))
    return cohort.observations


def _link_in(links, cause: str, effect: str):  # type: ignore[no-untyped-def]
    return next(link for link in links if (link.spec.cause, link.spec.effect) == (cause, effect))


def _link(result, cause: str, effect: str):  # type: ignore[no-untyped-def]
    return _link_in(result.links, cause, effect)


@pytest.fixture(scope="module")
def strong():  # type: ignore[no-untyped-def]
    return analyse_patient(_patient(365))


def test_a_strong_planted_coupling_is_found_at_its_lag(strong) -> None:  # type: ignore[no-untyped-def]
    link = _link(strong, frames.SLEEP_HOURS, frames.MOOD)
    assert link.significant and link.spec.direction == BIOMETRIC_TO_SYMPTOM
    assert link.best_lag == 2
    assert link.ci_low < 0.6 < link.ci_high


def test_a_symptom_leading_a_biometric_is_found_in_that_direction(strong) -> None:  # type: ignore[no-untyped-def]
    link = _link(strong, frames.ANXIETY, frames.RESTING_HR)
    assert link.significant and link.spec.direction == SYMPTOM_TO_BIOMETRIC and link.best_lag == 1


def test_the_reverse_direction_of_a_planted_coupling_is_not_reported(strong) -> None:  # type: ignore[no-untyped-def]
    assert not _link(strong, frames.MOOD, frames.SLEEP_HOURS).significant


def test_the_planted_links_are_the_strongest_evidence_in_a_long_record(strong) -> None:  # type: ignore[no-untyped-def]
    ranked = sorted(strong.links, key=lambda link: -abs(link.r) * np.sqrt(max(link.pairs)))
    assert {(link.spec.cause, link.spec.effect) for link in ranked[:2]} == {
        (frames.SLEEP_HOURS, frames.MOOD),
        (frames.ANXIETY, frames.RESTING_HR),
    }


def test_p_values_cannot_go_below_one_over_the_permutation_count() -> None:
    config = CorrelationConfig(settings=AnalysisSettings(permutations=99))
    result = analyse_patient(_patient(200), config)
    assert min(link.p_value for link in result.links) >= 1 / 100


def test_a_short_record_is_graded_insufficient_and_never_significant() -> None:
    result = analyse_patient(_patient(25))
    assert all(link.reliability == INSUFFICIENT and not link.significant for link in result.links)


def test_coverage_is_reported_per_stream(strong) -> None:  # type: ignore[no-untyped-def]
    coverage = {c.metric: c for c in strong.coverage}
    assert 0.6 < coverage[frames.SLEEP_HOURS].fraction < 1.0
    assert coverage[frames.MOOD].span == 365


def test_null_links_are_rarely_flagged_across_a_cohort() -> None:
    cohort = simulate_couplings(CouplingConfig(n_patients=12, days=120, seed=9, couplings=()))
    flagged = [
        link.significant
        for _, rows in cohort.observations.groupby(frames.SUBJECT_ID)
        for link in analyse_patient(rows, CorrelationConfig(settings=AnalysisSettings(permutations=299))).links
    ]
    assert len(flagged) == 12 * 30
    assert np.mean(flagged) <= 0.02


def test_hourly_hrv_leading_experience_sampled_anxiety_is_found_in_hours() -> None:
    couplings = (Coupling(frames.HOURLY_HRV_MS, frames.ANXIETY, 3, -0.6, -0.6, hourly=True),)
    cohort = simulate_couplings(
        CouplingConfig(n_patients=1, days=90, seed=3, hourly=True, couplings=(), hourly_couplings=couplings)
    )
    result = analyse_patient(cohort.observations)
    hourly = [link for link in result.links if link.spec.resolution == "hour"]
    link = _link_in(hourly, frames.HOURLY_HRV_MS, frames.ANXIETY)
    assert link.significant and link.best_lag == 3 and link.r < 0


def test_a_frame_with_two_patients_is_refused() -> None:
    obs = simulate_couplings(CouplingConfig(n_patients=2, days=30, seed=1)).observations
    with pytest.raises(FrameSchemaError, match="one patient"):
        analyse_patient(obs)


def test_a_patient_without_pairable_streams_is_refused() -> None:
    obs = _patient(60)
    with pytest.raises(InsufficientDataError):
        analyse_patient(obs[obs[frames.METRIC] == frames.MOOD])
