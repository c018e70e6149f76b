import warnings

import numpy as np

from twin_engine.forecast.nanstats import nanmean, nanstd


def _sample() -> np.ndarray:
    x = np.random.default_rng(0).normal(size=(4, 30, 3)).astype(np.float32)
    x[x > 1.2] = np.nan
    return x


def test_nan_statistics_agree_with_numpy() -> None:
    x = _sample()
    np.testing.assert_allclose(nanmean(x), np.nanmean(x, axis=1), rtol=1e-6)
    np.testing.assert_allclose(nanstd(x), np.nanstd(x, axis=1), rtol=1e-5)


def test_an_all_missing_row_gives_nan_without_a_warning() -> None:
    x = np.full((1, 5), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(nanmean(x)).all() and np.isnan(nanstd(x)).all()
