"""End to end: `novamind import` a generated Apple Health export into a running server, read it back, re-import.

The export size is `NOVAMIND_E2E_IMPORT_RECORDS` (default 2,000, which finishes well inside two minutes on
the development VM; the issue's 1-million-record run is the benchmark in bench/import_bench.py, see
docs/benchmarks.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.apple_export import write_export
from tests.e2e.conftest import RunningServer, new_patient, script_token

pytestmark = pytest.mark.e2e
RECORDS = int(os.environ.get("NOVAMIND_E2E_IMPORT_RECORDS", "2000"))
# Generous on purpose: the bound catches a hung import, not a slow machine (>= 50 records/s always passes).
IMPORT_TIMEOUT_S = 600 + RECORDS // 50


def _import(server: str, token: str, *args: str, module: str = "fhir_server.cli") -> subprocess.CompletedProcess[str]:
    """`novamind import …` as users run it; `module="mappings.cli"` skips loading the server and ML packages."""
    return subprocess.run(
        [sys.executable, "-m", module, "import", *args, "--server", server, "--quiet"],
        capture_output=True,
        text=True,
        timeout=IMPORT_TIMEOUT_S,
        env={**os.environ, "NOVAMIND_TOKEN": token},
    )


def _count(server: str, auth: dict[str, str], query: str) -> int:
    r = httpx.get(f"{server}/Observation?{query}&_summary=count", headers=auth, timeout=120)
    r.raise_for_status()
    return int(r.json()["total"])


@pytest.fixture(scope="module")
def import_token(running: RunningServer) -> str:
    """A token that outlives the import: the default lifetime (1 h) is shorter than a million-record run."""
    return script_token(running.base, running.args, lifetime=2 * IMPORT_TIMEOUT_S + 600)


@pytest.fixture(scope="module")
def import_auth(import_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {import_token}"}


@pytest.fixture(scope="module")
def patient(server: str, auth: dict[str, str]) -> str:
    return new_patient(server, auth, "import")


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("apple") / "export.xml"
    write_export(path, RECORDS)
    return path


def test_an_apple_health_export_is_imported_and_found_by_search(
    server: str, import_token: str, import_auth: dict[str, str], patient: str, export: Path
) -> None:
    done = _import(server, import_token, "apple-health", str(export), "--patient", patient)
    assert done.returncode == 0, done.stderr
    assert f"created {RECORDS}, unchanged 0, rejected 0" in done.stdout
    assert _count(server, import_auth, f"subject=Patient/{patient}") == RECORDS
    assert _count(server, import_auth, f"patient={patient}&code=http://loinc.org|8867-4") == RECORDS // 2
    devices = httpx.get(f"{server}/Device?patient={patient}", headers=import_auth).json()
    assert sorted(e["resource"]["manufacturer"] for e in devices["entry"]) == ["Apple Inc.", "Apple Inc."]


def test_a_reimport_adds_nothing(
    server: str, import_token: str, import_auth: dict[str, str], patient: str, export: Path
) -> None:
    done = _import(server, import_token, "apple-health", str(export), "--patient", patient, module="mappings.cli")
    assert done.returncode == 0, done.stderr
    assert f"created 0, unchanged {RECORDS}, rejected 0" in done.stdout
    assert _count(server, import_auth, f"subject=Patient/{patient}") == RECORDS


def test_a_file_that_fails_validation_imports_nothing(
    server: str, token: str, auth: dict[str, str], patient: str, tmp_path: Path
) -> None:
    good = {
        "heart_rate": {"value": 60, "unit": "beats/min"},
        "effective_time_frame": {"date_time": "1999-01-01T00:00Z"},
    }
    bad = {"heart_rate": {"value": 60, "unit": "beat/min"}, "effective_time_frame": {"date_time": "1999-01-01T00:01Z"}}
    f = tmp_path / "omh.json"
    f.write_text(json.dumps([good, bad]))
    done = _import(server, token, "openmhealth", str(f), "--patient", patient, module="mappings.cli")
    assert done.returncode == 1
    assert "rejected 1" in done.stdout
    assert "beat/min" in done.stdout
    assert _count(server, auth, f"subject=Patient/{patient}&date=1999-01-01") == 0
    kept = _import(server, token, "openmhealth", str(f), "--patient", patient, "--keep-going", module="mappings.cli")
    assert kept.returncode == 0, kept.stderr
    assert _count(server, auth, f"subject=Patient/{patient}&date=1999-01-01") == 1


def test_without_a_token_the_import_says_how_to_get_one(server: str, patient: str, export: Path) -> None:
    done = _import(server, "", "apple-health", str(export), "--patient", patient, module="mappings.cli")
    assert done.returncode == 1
    assert "novamind token" in done.stderr
