"""`novamind serve --demo` (README's first command) serves demo patients, and loading twice adds nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import running_server

pytestmark = pytest.mark.e2e


def test_demo_loads_idempotently_and_serves(tmp_path: Path) -> None:
    demo = [sys.executable, "-m", "fhir_server.cli", "demo", "--data-dir", str(tmp_path)]
    subprocess.run(demo, check=True, capture_output=True, timeout=300)
    with running_server(["--data-dir", str(tmp_path), "--demo"], tmp_path) as base:
        patients = httpx.get(f"{base}/Patient").json()
        assert patients["total"] == 3
        phq9 = httpx.get(f"{base}/Observation", params={"code": "http://loinc.org|44261-6", "_summary": "count"})
        assert phq9.json()["total"] == 3 * 12
