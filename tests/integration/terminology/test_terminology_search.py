"""Searching by value set membership: `code:in` and `code:not-in` over the published value sets."""

from __future__ import annotations

import httpx

from tests.integration.terminology.conditions import ids, put_condition, put_patient

CONDITIONS = "http://novamind.example.org/fhir/ValueSet/psychiatric-conditions"
SNOMED = "http://snomed.info/sct"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"


async def _seed(client: httpx.AsyncClient) -> None:
    await put_patient(client)
    await put_condition(client, "mdd", SNOMED, "370143000")
    await put_condition(client, "f32-1", ICD, "F32.1")
    await put_condition(client, "ideation", ICD, "R45.851")  # a finding, not a disorder: outside the value set
    await put_condition(client, "other", "http://example.org/codes", "370143000")  # same code, other system


async def test_code_in_finds_the_members_of_the_value_set(client: httpx.AsyncClient) -> None:
    await _seed(client)
    r = await client.get("Condition", params={"code:in": CONDITIONS})
    assert r.status_code == 200
    assert ids(r.json()) == {"mdd", "f32-1"}


async def test_code_not_in_finds_the_others(client: httpx.AsyncClient) -> None:
    await _seed(client)
    r = await client.get("Condition", params={"code:not-in": CONDITIONS})
    assert ids(r.json()) == {"ideation", "other"}


async def test_code_in_an_unknown_value_set_is_400(client: httpx.AsyncClient) -> None:
    r = await client.get("Condition", params={"code:in": "http://example.org/ValueSet/none"})
    assert r.status_code == 400
    assert "not known" in r.json()["issue"][0]["diagnostics"]
