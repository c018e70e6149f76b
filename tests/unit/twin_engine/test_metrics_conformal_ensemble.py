import numpy as np
import pytest

from twin_engine.forecast.base import GRADES, MAX_HORIZON, QUANTILES, interval_indices
from twin_engine.forecast.conformal import ConformalCalibrator, _conformal_quantile
from twin_engine.forecast.ensemble import QuantileEnsemble
from twin_engine.forecast.metrics import pinball, score
from twin_engine.forecast.windows import HISTORY_DAYS, WindowSet

Z = np.array([-1.96, -1.645, -1.2816, -0.6745, 0.0, 0.6745, 1.2816, 1.645, 1.96])


def windows(m: int, rng: np.random.Generator, sd: float) -> WindowSet:
    history = rng.normal(0.0, sd, (m, HISTORY_DAYS, 6)).astype(np.float32)
    targets = rng.normal(0.0, sd, (m, MAX_HORIZON)).astype(np.float32)
    return WindowSet(
        history=history,
        targets=targets,
        loc=np.zeros(m, dtype=np.float32),
        scale=1.0,
        grade=np.array([GRADES[0]] * m),
        subject=np.arange(m),
        origin=np.zeros(m, dtype=np.int64),
    )


def test_perfect_forecast_scores_zero_error_and_full_coverage() -> None:
    y = np.arange(12, dtype=float).reshape(3, 4)
    q = np.repeat(y[:, :, None], len(QUANTILES), axis=2)
    s = score(q, y, np.ones(3))
    assert s["mae"] == 0.0 and s["rmse"] == 0.0 and s["coverage_95"] == 1.0


def test_pinball_matches_the_definition() -> None:
    loss = pinball(np.zeros((1, 1, len(QUANTILES))), np.array([[1.0]]))
    assert loss[0, 0].tolist() == pytest.approx(list(QUANTILES))


def test_conformal_repairs_intervals_that_are_far_too_narrow() -> None:
    rng = np.random.default_rng(0)
    calib, test = windows(3000, rng, 1.0), windows(3000, rng, 1.0)
    raw_c = np.broadcast_to(0.3 * Z, (3000, MAX_HORIZON, len(QUANTILES))).copy()
    cal = ConformalCalibrator()
    cal.fit(raw_c, calib)
    out = cal.apply(raw_c.copy(), test)
    for level in (0.8, 0.95):
        lo, hi = interval_indices(level)
        raw_cov = np.mean((test.targets >= raw_c[:, :, lo]) & (test.targets <= raw_c[:, :, hi]))
        cov = np.mean((test.targets >= out[:, :, lo]) & (test.targets <= out[:, :, hi]))
        assert raw_cov < level - 0.2
        assert cov == pytest.approx(level, abs=0.02)
    assert np.all(np.diff(out, axis=-1) >= -1e-9)


def test_ensemble_weights_prefer_the_better_member() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(0.0, 1.0, (500, MAX_HORIZON))
    good = y[:, :, None] + 0.1 * Z
    bad = good + 3.0
    ens = QuantileEnsemble(("good", "bad"))
    ens.fit({"good": good, "bad": bad}, y)
    assert ens.weights is not None and np.all(ens.weights[:, 0] == 1.0)
    assert np.allclose(ens.combine({"good": good, "bad": bad}), good)


def test_short_histories_get_their_own_wider_intervals() -> None:
    # Grade C windows have three times the error of grade A ones; the same raw intervals must be
    # widened more for them, and each grade must reach its nominal coverage.
    rng = np.random.default_rng(2)
    calib, test = windows(4000, rng, 1.0), windows(4000, rng, 1.0)
    for w in (calib, test):
        w.grade[::2] = "C"
        w.targets[::2] *= 3.0
    raw = np.broadcast_to(Z, (4000, MAX_HORIZON, len(QUANTILES))).copy()
    cal = ConformalCalibrator()
    cal.fit(raw, calib)
    out = cal.apply(raw.copy(), test)
    lo, hi = interval_indices(0.8)
    width = out[:, :, hi] - out[:, :, lo]
    assert width[::2].mean() > 2.0 * width[1::2].mean()
    for rows in (slice(0, None, 2), slice(1, None, 2)):
        inside = (test.targets[rows] >= out[rows, :, lo]) & (test.targets[rows] <= out[rows, :, hi])
        assert inside.mean() == pytest.approx(0.8, abs=0.025)


def test_volatile_histories_get_their_own_wider_intervals() -> None:
    # Same grade, but windows whose history is three times as volatile also have three times the error.
    rng = np.random.default_rng(3)
    calib, test = windows(4500, rng, 1.0), windows(4500, rng, 1.0)
    for w in (calib, test):
        w.history[::3, :, 0] *= 3.0
        w.targets[::3] *= 3.0
    raw = np.broadcast_to(Z, (4500, MAX_HORIZON, len(QUANTILES))).copy()
    cal = ConformalCalibrator()
    cal.fit(raw, calib)
    out = cal.apply(raw.copy(), test)
    lo, hi = interval_indices(0.9)
    calm = np.ones(4500, dtype=bool)
    calm[::3] = False
    for rows in (calm, ~calm):
        inside = (test.targets[rows] >= out[rows, :, lo]) & (test.targets[rows] <= out[rows, :, hi])
        assert inside.mean() == pytest.approx(0.9, abs=0.02)


def test_conformal_quantile_steps_below_a_tie_only_when_that_is_closer_to_the_level() -> None:
    # Integer outcomes at the range floor give many scores of exactly 0.
    scores = np.concatenate([np.full(78, -1.0), np.zeros(20), np.full(2, 1.0)])
    assert _conformal_quantile(scores, 0.8) == -1.0  # covers 78% instead of 98%
    scores = np.concatenate([np.full(30, -1.0), np.zeros(55), np.full(15, 1.0)])
    assert _conformal_quantile(scores, 0.8) == 0.0  # 85% is closer to 80% than 30% is
    smooth = np.random.default_rng(0).normal(size=1000)
    assert _conformal_quantile(smooth, 0.9) == pytest.approx(np.quantile(smooth, 0.9), abs=0.02)
