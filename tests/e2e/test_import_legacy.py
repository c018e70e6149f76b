"""End to end: `novamind import legacy` puts the sample payload into a running server, and a re-import adds nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from mappings.wearables.measures import measure
from tests.e2e.conftest import new_patient
from tests.e2e.test_import import _count, _import

pytestmark = pytest.mark.e2e
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "legacy" / "payload.json"
RECORDS = 20


@pytest.fixture(scope="module")
def patient(server: str, auth: dict[str, str]) -> str:
    return new_patient(server, auth, "legacy")


def test_a_legacy_payload_is_imported_and_found_by_search(
    server: str, token: str, auth: dict[str, str], patient: str
) -> None:
    done = _import(server, token, "legacy", str(SAMPLE), "--patient", patient, module="mappings.cli")
    assert done.returncode == 0, done.stderr
    assert f"created {RECORDS}, unchanged 0, rejected 0" in done.stdout
    assert _count(server, auth, f"subject=Patient/{patient}") == RECORDS
    assert _count(server, auth, f"patient={patient}&code=http://loinc.org|{measure('phq9-total').code}") == 2
    assert _count(server, auth, f"patient={patient}&category=survey") == 9


def test_a_legacy_payload_reimport_adds_nothing(server: str, token: str, auth: dict[str, str], patient: str) -> None:
    done = _import(server, token, "legacy", str(SAMPLE), "--patient", patient, module="mappings.cli")
    assert done.returncode == 0, done.stderr
    assert f"created 0, unchanged {RECORDS}, rejected 0" in done.stdout
    assert _count(server, auth, f"subject=Patient/{patient}") == RECORDS
