import numpy as np
import pytest

from twin_engine.errors import InsufficientDataError
from twin_engine.pharmacogenomics.response.calibration import PlattCalibrator
from twin_engine.pharmacogenomics.response.metrics import auc, brier, ece, reliability


def test_auc_counts_ties_as_half_and_needs_both_classes() -> None:
    y = np.array([0, 0, 1, 1])
    assert auc(y, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert auc(y, np.full(4, 0.5)) == 0.5
    with pytest.raises(InsufficientDataError):
        auc(np.ones(3), np.ones(3))


def test_ece_is_the_count_weighted_gap_over_ten_equal_width_bins() -> None:
    y = np.array([1, 0, 0, 0, 1, 1])
    p = np.array([0.05, 0.05, 0.05, 0.05, 0.95, 0.95])
    curve = reliability(y, p)
    assert len(curve.counts) == 10 and curve.counts[0] == 4 and curve.counts[9] == 2
    assert ece(y, p) == pytest.approx((4 * 0.2 + 2 * 0.05) / 6)
    assert brier(y, p) == pytest.approx(np.mean((p - y) ** 2))


def test_platt_calibration_reduces_ece_of_distorted_probabilities() -> None:
    rng = np.random.default_rng(0)
    true_p = rng.uniform(0.05, 0.6, 20_000)
    y = (rng.random(true_p.size) < true_p).astype(float)
    logit = np.log(true_p / (1 - true_p))
    distorted = 1 / (1 + np.exp(-(1.8 * logit + 0.7)))  # overconfident and too high
    calibrator = PlattCalibrator().fit(distorted[:10_000], y[:10_000])
    before, after = ece(y[10_000:], distorted[10_000:]), ece(y[10_000:], calibrator.apply(distorted[10_000:]))
    assert before > 0.05 and after < 0.02
    assert auc(y[10_000:], calibrator.apply(distorted[10_000:])) == pytest.approx(auc(y[10_000:], distorted[10_000:]))
