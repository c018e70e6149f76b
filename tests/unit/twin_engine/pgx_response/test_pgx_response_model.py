import json
from pathlib import Path

import numpy as np
import pytest

from twin_engine.errors import ModelArtifactError
from twin_engine.pharmacogenomics.response.evaluation import evaluate
from twin_engine.pharmacogenomics.response.foldchange import TOLERANCE, recover_fold_changes
from twin_engine.pharmacogenomics.response.metrics import brier
from twin_engine.pharmacogenomics.response.training import (
    MODEL_NAME,
    PACKAGED_MODELS_DIR,
    TrainingResult,
    load_bundle,
    save_bundle,
)
from twin_engine.simulate import pgx_cohort as sim


def test_model_beats_the_genotype_blind_baseline_in_brier_on_side_effects(trained: TrainingResult) -> None:
    cohort = sim.simulate_pgx_cohort(sim.PgxCohortConfig(n_patients=20_000, seed=99))
    model, baseline = trained.bundle.model.predict(cohort.episodes), trained.bundle.baseline.predict(cohort.episodes)
    for outcome in (sim.GI_UPSET, sim.ACTIVATION):
        y = cohort.episodes[outcome].to_numpy()
        assert brier(y, model[outcome]) < brier(y, baseline[outcome])


def test_evaluation_reports_oracle_ratio_ece_and_skill_per_outcome(trained: TrainingResult) -> None:
    report = evaluate(trained.bundle, patients=3000, seed=11)
    assert report.cohort_seed == 1011 and [o.outcome for o in report.outcomes] == list(sim.OUTCOMES)
    for o in report.outcomes:
        assert 0.5 < o.auc_oracle < 0.9 and o.auc_ratio > 0.85 and o.ece_model < 0.08
        assert o.brier_skill_ci[0] <= o.brier_skill <= o.brier_skill_ci[1]
    assert json.loads(json.dumps(report.to_dict()))["goals"].keys() == report.goals.keys()


def test_planted_fold_changes_are_recovered_within_tolerance_on_a_big_cohort() -> None:
    recovered = recover_fold_changes(sim.simulate_pgx_cohort(sim.PgxCohortConfig(n_patients=40_000, seed=1000)))
    assert len(recovered) == len(sim.planted_fold_changes())
    worst = max(abs(r.relative_error) for r in recovered)
    assert worst <= TOLERANCE and all(r.within_tolerance for r in recovered)
    esc_pm = next(r for r in recovered if (r.medication, r.phenotype) == ("escitalopram", "PM"))
    assert esc_pm.ci_low < esc_pm.estimate < esc_pm.ci_high and esc_pm.n > 20


def test_registry_round_trip_predicts_identically(trained: TrainingResult, tmp_path: Path) -> None:
    artifact = save_bundle(trained, tmp_path, "1.0.0", {"note": "test"})
    loaded = load_bundle(tmp_path)
    assert loaded.version == "1.0.0" and loaded.content_hash == artifact.content_hash
    assert artifact.manifest["training_data"]["simulator"]["n_patients"] == 8000  # type: ignore[index]
    ep = sim.simulate_pgx_cohort(sim.PgxCohortConfig(n_patients=200, seed=8)).episodes
    for name, p in trained.bundle.model.predict(ep).items():
        np.testing.assert_allclose(loaded.model.predict(ep)[name], p, rtol=1e-6)
    np.testing.assert_allclose(
        loaded.baseline.predict(ep)[sim.RESPONSE], trained.bundle.baseline.predict(ep)[sim.RESPONSE], rtol=1e-6
    )


def test_tampered_artifact_is_refused(trained: TrainingResult, tmp_path: Path) -> None:
    artifact = save_bundle(trained, tmp_path, "1.0.0")
    booster = artifact.directory / "model" / f"{sim.RESPONSE}.json.gz"
    data = bytearray(booster.read_bytes())
    data[len(data) // 2] ^= 0xFF
    booster.write_bytes(bytes(data))
    with pytest.raises(ModelArtifactError, match="corrupted"):
        load_bundle(tmp_path, "1.0.0")
    assert (tmp_path / MODEL_NAME / "1.0.0").is_dir()


def test_shipped_model_loads_verified_and_is_small() -> None:
    bundle = load_bundle()  # the artifact under twin_engine/models/, hash-checked on load
    assert bundle.version is not None and bundle.content_hash is not None
    directory = PACKAGED_MODELS_DIR / MODEL_NAME / bundle.version
    assert sum(p.stat().st_size for p in directory.rglob("*") if p.is_file()) < 2_000_000
    manifest = json.loads((directory / "manifest.json").read_text())
    assert all(manifest["metrics"]["goals"].values())
