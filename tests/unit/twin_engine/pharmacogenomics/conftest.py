"""One engine per test session (the tables load once), and the shared CPIC originals the exactness tests read."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from twin_engine.pharmacogenomics import PharmacogenomicsEngine

# The team's extraction the shipped copies came from; tests may read it, the installed engine never does.
REFERENCE_DIR = Path(os.environ.get("NOVAMIND_CPIC_REFERENCE", "/work/shared/data/cpic"))


@pytest.fixture(scope="session")
def engine() -> PharmacogenomicsEngine:
    return PharmacogenomicsEngine.load()


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    if not (REFERENCE_DIR / "README.md").is_file():
        pytest.skip(f"CPIC reference tables not found at {REFERENCE_DIR} (set NOVAMIND_CPIC_REFERENCE)")
    return REFERENCE_DIR


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="session")
def cpic_diplotypes(reference_dir: Path) -> list[dict[str, str]]:
    """The CPIC rows of the shared diplotype table (DPWG rows are not what the engine answers)."""
    return [r for r in read_rows(reference_dir / "diplotype_phenotype.csv") if r["source"] == "CPIC"]


@pytest.fixture(scope="session")
def cpic_recommendations(reference_dir: Path) -> list[dict[str, str]]:
    return read_rows(reference_dir / "recommendations_cpic.csv")
