"""`novamind serve --demo` (README's first command) serves demo patients, and loading twice adds nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import running_server, script_token

pytestmark = pytest.mark.e2e


def test_demo_loads_idempotently_and_serves(tmp_path: Path) -> None:
    demo = [sys.executable, "-m", "fhir_server.cli", "demo", "--data-dir", str(tmp_path)]
    subprocess.run(demo, check=True, capture_output=True, timeout=300)
    with running_server(["--data-dir", str(tmp_path), "--demo"], tmp_path) as base:
        auth = {"Authorization": f"Bearer {script_token(base, ['--data-dir', str(tmp_path)])}"}
        patients = httpx.get(f"{base}/Patient", headers=auth).json()
        assert patients["total"] == 3
        params = {"code": "http://loinc.org|44261-6", "_summary": "count"}
        phq9 = httpx.get(f"{base}/Observation", params=params, headers=auth)
        assert phq9.json()["total"] == 3 * 12
