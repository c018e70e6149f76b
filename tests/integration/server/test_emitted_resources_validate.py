"""Everything the server emits is valid FHIR (checked with fhir.resources.R4B)."""

from __future__ import annotations

import httpx
from fhir.resources.R4B import get_fhir_model_class

JSON = {"Content-Type": "application/fhir+json"}


def assert_valid(resource: dict) -> None:
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)


async def test_capability_statement_validates(client: httpx.AsyncClient) -> None:
    assert_valid((await client.get("metadata")).json())


async def test_search_history_and_transaction_bundles_validate(client: httpx.AsyncClient) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:9d0c3d4e-0000-4000-8000-000000000001",
                "resource": {"resourceType": "Patient", "name": [{"family": "Valid"}]},
                "request": {"method": "POST", "url": "Patient"},
            }
        ],
    }
    assert_valid((await client.post("", json=bundle, headers=JSON)).json())
    assert_valid((await client.get("Patient", params={"name": "valid", "unknown": "1"})).json())
    assert_valid((await client.get("Patient/_history")).json())
    assert_valid((await client.get("Patient", params={"_summary": "count"})).json())


async def test_error_outcomes_validate(client: httpx.AsyncClient) -> None:
    assert_valid((await client.get("Patient/missing")).json())
    assert_valid((await client.post("Patient", json={"resourceType": "Patient", "x": 1}, headers=JSON)).json())
