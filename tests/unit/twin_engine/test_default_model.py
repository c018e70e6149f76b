import numpy as np

from twin_engine import frames
from twin_engine.forecast import load_bundle
from twin_engine.forecast.evaluation import evaluate
from twin_engine.forecast.grid import DEFAULT_COVARIATES
from twin_engine.forecast.training import FORECASTER_NAME, PACKAGED_MODELS_DIR
from twin_engine.registry import load_artifact
from twin_engine.simulate import SimulatorConfig, simulate_cohort


def test_shipped_default_model_is_small_verified_and_describes_its_training_data() -> None:
    art = load_artifact(PACKAGED_MODELS_DIR, FORECASTER_NAME)
    size = sum(p.stat().st_size for p in art.directory.rglob("*") if p.is_file())
    assert size < 5_000_000
    data = art.manifest["training_data"]
    assert data["source"].startswith("twin_engine.simulate")  # type: ignore[index]
    assert len(data["observations_sha256"]) == 64  # type: ignore[index]


def test_shipped_default_model_forecasts_new_patients() -> None:
    models = load_bundle()
    assert set(models) == {frames.MOOD, frames.PHQ9, frames.GAD7}
    cohort = simulate_cohort(SimulatorConfig(n_patients=3, days=120, seed=99))
    for metric, model in models.items():
        fc = model.forecast(cohort.observations, 28)
        assert fc.metric == metric and np.isfinite(fc.quantiles).all()
        assert np.all(fc.interval(0.95)[1] >= fc.point)


def test_questionnaire_forecasters_read_the_daily_mood_rating_and_older_bundles_keep_their_channels() -> None:
    newest, older = load_bundle(), load_bundle(version="1.2.0")
    assert frames.MOOD in newest[frames.PHQ9].covariates and frames.MOOD in newest[frames.GAD7].covariates
    assert frames.MOOD not in newest[frames.MOOD].covariates
    assert all(model.covariates == DEFAULT_COVARIATES for model in older.values())


def test_questionnaire_forecasts_are_scored_for_patients_who_never_rate_their_mood() -> None:
    report = evaluate(load_bundle(), patients=12, days=120, seed=3, include_autoets=False, hide=(frames.MOOD,))
    assert [m.metric for m in report.metrics] == [frames.PHQ9, frames.GAD7]
    assert all(np.isfinite(m.scores["ensemble"]["all"]["mase"]) for m in report.metrics)
