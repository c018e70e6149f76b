"""Conditions to search over, for the terminology-aware search tests (`:in`, `:above`, `:below`)."""

from __future__ import annotations

import httpx


async def put_condition(client: httpx.AsyncClient, res_id: str, system: str, code: str) -> None:
    body = {
        "resourceType": "Condition",
        "id": res_id,
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": system, "code": code}]},
    }
    assert (await client.put(f"Condition/{res_id}", json=body)).status_code == 201


async def put_patient(client: httpx.AsyncClient) -> None:
    assert (await client.put("Patient/p1", json={"resourceType": "Patient", "id": "p1"})).status_code == 201


def ids(bundle: dict[str, object]) -> set[str]:
    return {e["resource"]["id"] for e in bundle.get("entry", [])}  # type: ignore[attr-defined, index]
