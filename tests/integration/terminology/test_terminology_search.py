"""Searching by value set membership: `code:in` and `code:not-in` over the published value sets."""

from __future__ import annotations

import httpx

CONDITIONS = "http://novamind.example.org/fhir/ValueSet/psychiatric-conditions"
SNOMED = "http://snomed.info/sct"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"


async def _condition(client: httpx.AsyncClient, res_id: str, system: str, code: str) -> None:
    body = {
        "resourceType": "Condition",
        "id": res_id,
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": system, "code": code}]},
    }
    assert (await client.put(f"Condition/{res_id}", json=body)).status_code == 201


async def _seed(client: httpx.AsyncClient) -> None:
    assert (await client.put("Patient/p1", json={"resourceType": "Patient", "id": "p1"})).status_code == 201
    await _condition(client, "mdd", SNOMED, "370143000")
    await _condition(client, "f32-1", ICD, "F32.1")
    await _condition(client, "ideation", ICD, "R45.851")  # a finding, not a disorder: outside the value set
    await _condition(client, "other", "http://example.org/codes", "370143000")  # same code, other system


def _ids(bundle: dict[str, object]) -> set[str]:
    return {e["resource"]["id"] for e in bundle.get("entry", [])}  # type: ignore[attr-defined, index]


async def test_code_in_finds_the_members_of_the_value_set(client: httpx.AsyncClient) -> None:
    await _seed(client)
    r = await client.get("Condition", params={"code:in": CONDITIONS})
    assert r.status_code == 200
    assert _ids(r.json()) == {"mdd", "f32-1"}


async def test_code_not_in_finds_the_others(client: httpx.AsyncClient) -> None:
    await _seed(client)
    r = await client.get("Condition", params={"code:not-in": CONDITIONS})
    assert _ids(r.json()) == {"ideation", "other"}


async def test_code_in_an_unknown_value_set_is_400(client: httpx.AsyncClient) -> None:
    r = await client.get("Condition", params={"code:in": "http://example.org/ValueSet/none"})
    assert r.status_code == 400
    assert "not known" in r.json()["issue"][0]["diagnostics"]
