"""The official R4 examples (../shared/data/fhir-examples) round-trip: create -> read gives them back."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from fhir_server.settings import Settings
from tests.conftest import SHARED

EXAMPLES = sorted(
    p
    for folder in ("r4-core", "mii-proms-phq9", "sdc-phq9", "genomics-reporting/json-2020")
    for p in (SHARED / "data" / "fhir-examples" / folder).rglob("*.json")
)
pytestmark = pytest.mark.skipif(not EXAMPLES, reason="../shared/data/fhir-examples is not beside the checkout")


@pytest.fixture
def settings(database_url: str, tmp_path: Path, keys_dir: Path) -> Settings:
    """The examples reference resources that are not among them, so integrity checks are off here."""
    return Settings(
        database_url=database_url,
        referential_integrity=False,
        data_dir=tmp_path,
        keys_dir=keys_dir,
        public_base_url="http://testserver/fhir",
    )


def _without_meta(resource: dict) -> dict:
    return {k: v for k, v in resource.items() if k != "meta"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
async def test_example_round_trips(client: httpx.AsyncClient, path: Path) -> None:
    resource = json.loads(path.read_text("utf-8"))
    r = await client.put(f"{resource['resourceType']}/{resource['id']}", json=resource)
    assert r.status_code == 201, r.text
    read = (await client.get(f"{resource['resourceType']}/{resource['id']}")).json()
    assert _without_meta(read) == _without_meta(resource)
    for key, value in (resource.get("meta") or {}).items():
        if key not in ("versionId", "lastUpdated"):
            assert read["meta"][key] == value
