import numpy as np
import pytest

from twin_engine import frames
from twin_engine.errors import TwinEngineError
from twin_engine.simulate.transitions import TransitionConfig, simulate_transitions

SMALL = TransitionConfig(n_transition=20, n_control=20, days=200, seed=4)


def test_same_config_gives_identical_cohorts() -> None:
    a, b = simulate_transitions(SMALL), simulate_transitions(SMALL)
    assert a.observations.equals(b.observations)
    assert np.array_equal(a.onset_day, b.onset_day)


def test_ground_truth_marks_controls_and_keeps_ramps_in_range() -> None:
    cohort = simulate_transitions(SMALL)
    truth = cohort.truth()
    controls = truth[~truth["transition"]]
    assert (controls["onset_day"] == -1).all() and (controls["ramp_start"] == -1).all()
    ramps = cohort.ramp_days[cohort.transitions]
    assert ramps.min() >= SMALL.ramp_days[0] and ramps.max() <= SMALL.ramp_days[1]
    assert (cohort.onset_day[cohort.transitions] < SMALL.days).all()


def test_recovery_rate_decays_only_in_transition_patients() -> None:
    cohort = simulate_transitions(SMALL)
    i = int(np.flatnonzero(cohort.transitions)[0])
    j = int(np.flatnonzero(~cohort.transitions)[0])
    onset, ramp = cohort.onset_day[i], cohort.ramp_start[i]
    assert cohort.recovery[i, onset - 1] < 0.1 < cohort.recovery[i, ramp]
    assert np.ptp(cohort.recovery[j]) == 0.0


def test_mood_drops_after_onset() -> None:
    cohort = simulate_transitions(SMALL)
    tr = np.flatnonzero(cohort.transitions)
    before = [cohort.latent[i, cohort.ramp_start[i] - 30 : cohort.ramp_start[i]].mean() for i in tr]
    after = [cohort.latent[i, cohort.onset_day[i] + 5 :].mean() for i in tr]
    assert np.mean(after) < np.mean(before) - 2.0


def test_reports_are_valid_integer_mood_ratings_with_missing_prompts() -> None:
    cohort = simulate_transitions(SMALL)
    obs = frames.validate_observations(cohort.observations)
    assert set(obs[frames.METRIC].astype(str)) == {frames.MOOD}
    values = obs[frames.VALUE].to_numpy()
    assert values.min() >= 0 and values.max() <= 10 and np.array_equal(values, np.rint(values))
    assert len(obs) < 40 * 200 * SMALL.reports_per_day * 0.95


def test_one_report_a_day_gives_about_a_fifth_of_the_rows() -> None:
    five = simulate_transitions(SMALL)
    one = simulate_transitions(TransitionConfig(n_transition=20, n_control=20, days=200, seed=4, reports_per_day=1))
    assert 0.15 < len(one.observations) / len(five.observations) < 0.25


def test_too_short_record_is_a_typed_error() -> None:
    with pytest.raises(TwinEngineError):
        simulate_transitions(TransitionConfig(days=100))
