import numpy as np
import pytest
from scipy import stats

from twin_engine.early_warning.errors import EarlyWarningInputError
from twin_engine.early_warning.indicators import exponential_indicators, rolling_indicators
from twin_engine.early_warning.trend import kendall_tau, rolling_kendall_tau


def ar1(phi: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.zeros(phi.size)
    for k in range(1, phi.size):
        x[k] = phi[k] * x[k - 1] + rng.normal()
    return x


def test_rising_autoregression_gives_a_positive_tau_of_autocorrelation_and_variance() -> None:
    x = ar1(np.linspace(0.1, 0.95, 400), seed=1)
    ind = rolling_indicators(x[None, :], window=50, trend_window=None)
    assert kendall_tau(ind.autocorrelation[0]) > 0.3
    assert kendall_tau(ind.variance[0]) > 0.3


def test_autocorrelation_estimates_a_stationary_coefficient() -> None:
    x = ar1(np.full(3000, 0.6), seed=2)
    ind = rolling_indicators(x[None, :], window=1000, trend_window=None)
    assert ind.autocorrelation[0, -1] == pytest.approx(0.6, abs=0.06)


def test_linear_detrending_removes_a_drift_from_the_variance() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(1, 200)) + np.linspace(0, 20, 200)
    detrended = rolling_indicators(x, window=30, trend_window=60)
    assert np.nanmax(detrended.variance) < 2.0


def test_missing_days_leave_finite_indicators_and_sparse_windows_nan() -> None:
    x = ar1(np.full(120, 0.5), seed=4)[None, :]
    x[0, 10:20] = np.nan
    x[0, 60:100] = np.nan
    ind = rolling_indicators(x, window=30, trend_window=None)
    assert np.isfinite(ind.autocorrelation[0, 40])
    assert np.isnan(ind.variance[0, 99])


def test_rolling_kendall_tau_matches_scipy_on_each_window() -> None:
    x = np.random.default_rng(5).normal(size=(2, 60))
    tau = rolling_kendall_tau(x, span=20)
    for t in (19, 33, 59):
        expected = stats.kendalltau(np.arange(20), x[1, t - 19 : t + 1]).statistic
        assert tau[1, t] == pytest.approx(expected)
    assert np.isnan(tau[0, 18])


def test_rolling_kendall_tau_skips_nan_values() -> None:
    x = np.arange(30, dtype=float)[None, :]
    x[0, 25] = np.nan
    assert rolling_kendall_tau(x, span=10)[0, -1] == pytest.approx(1.0)


def test_window_longer_than_the_record_is_a_typed_error() -> None:
    with pytest.raises(EarlyWarningInputError):
        rolling_indicators(np.zeros((1, 20)), window=30, trend_window=None)


def test_weighted_autocorrelation_estimates_a_stationary_coefficient_across_patients() -> None:
    x = np.stack([ar1(np.full(300, 0.6), seed=s) for s in range(200)])
    ind = exponential_indicators(x, half_life=12)
    assert np.mean(ind.autocorrelation[:, -1]) == pytest.approx(0.6, abs=0.08)
    assert np.median(ind.variance[:, -1]) == pytest.approx(1 / (1 - 0.6**2), rel=0.2)


def test_weighted_indicators_see_a_late_rise_a_flat_window_dilutes() -> None:
    phi = np.concatenate([np.full(200, 0.2), np.full(25, 0.9)])
    x = np.stack([ar1(phi, seed=s) for s in range(100)])
    weighted = exponential_indicators(x, half_life=12).autocorrelation[:, -1]
    flat = rolling_indicators(x, window=60, trend_window=None).autocorrelation[:, -1]
    assert np.mean(weighted) > np.mean(flat) + 0.1


def test_weighted_indicators_need_enough_recent_days() -> None:
    x = ar1(np.full(150, 0.5), seed=6)[None, :]
    x[0, 80:120] = np.nan
    ind = exponential_indicators(x, half_life=10)
    assert np.isnan(ind.autocorrelation[0, 15])  # fewer than two half-lives observed so far
    assert np.isfinite(ind.autocorrelation[0, 79])
    assert np.isnan(ind.variance[0, 119])  # a long lapse: too little recent weight
    assert ind.memory == 30


def test_a_half_life_under_a_day_is_a_typed_error() -> None:
    with pytest.raises(EarlyWarningInputError):
        exponential_indicators(np.zeros((1, 20)), half_life=0.5)
