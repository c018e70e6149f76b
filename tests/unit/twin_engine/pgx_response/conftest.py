"""One small trained model+baseline bundle per session (seeded), shared by the model, registry and comparison tests."""

from __future__ import annotations

import pytest

from twin_engine.pharmacogenomics.response.model import ResponseModelConfig
from twin_engine.pharmacogenomics.response.training import TrainingResult, train_bundle
from twin_engine.simulate.pgx_cohort import PgxCohortConfig


@pytest.fixture(scope="session")
def trained() -> TrainingResult:
    return train_bundle(PgxCohortConfig(n_patients=8000, seed=5), ResponseModelConfig(seed=5, n_estimators=300))
