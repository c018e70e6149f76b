"""Conditional create, update and delete, including races between concurrent requests."""

from __future__ import annotations

import asyncio

import httpx

JSON = {"Content-Type": "application/fhir+json"}
SYSTEM = "http://example.org/mrn"


def patient(mrn: str) -> dict:
    return {"resourceType": "Patient", "identifier": [{"system": SYSTEM, "value": mrn}]}


async def test_if_none_exist_returns_the_existing_match(client: httpx.AsyncClient) -> None:
    first = await client.post("Patient", json=patient("1"), headers=JSON)
    again = await client.post("Patient", json=patient("1"), headers={**JSON, "If-None-Exist": f"identifier={SYSTEM}|1"})
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]


async def test_racing_conditional_creates_make_one_resource(client: httpx.AsyncClient) -> None:
    headers = {**JSON, "If-None-Exist": f"identifier={SYSTEM}|race"}
    results = await asyncio.gather(*(client.post("Patient", json=patient("race"), headers=headers) for _ in range(8)))
    assert {r.status_code for r in results} <= {200, 201}
    assert len({r.json()["id"] for r in results}) == 1
    bundle = (await client.get("Patient", params={"identifier": f"{SYSTEM}|race"})).json()
    assert bundle["total"] == 1


async def test_if_none_exist_with_several_matches_is_412(client: httpx.AsyncClient) -> None:
    await client.post("Patient", json=patient("dup"), headers=JSON)
    await client.post("Patient", json=patient("dup"), headers=JSON)
    r = await client.post("Patient", json=patient("dup"), headers={**JSON, "If-None-Exist": f"identifier={SYSTEM}|dup"})
    assert r.status_code == 412


async def test_conditional_update_creates_then_updates(client: httpx.AsyncClient) -> None:
    url = f"Patient?identifier={SYSTEM}|cu"
    created = await client.put(url, json=patient("cu"), headers=JSON)
    assert created.status_code == 201
    updated = await client.put(url, json={**patient("cu"), "gender": "male"}, headers=JSON)
    assert updated.status_code == 200
    assert updated.json()["id"] == created.json()["id"]
    assert updated.json()["meta"]["versionId"] == "2"


async def test_conditional_delete_removes_the_match(client: httpx.AsyncClient) -> None:
    created = (await client.post("Patient", json=patient("del"), headers=JSON)).json()
    r = await client.delete(f"Patient?identifier={SYSTEM}|del")
    assert r.status_code == 200
    assert (await client.get(f"Patient/{created['id']}")).status_code == 410


async def test_conditional_criteria_with_unknown_parameter_is_refused(client: httpx.AsyncClient) -> None:
    r = await client.post("Patient", json=patient("x"), headers={**JSON, "If-None-Exist": "nonsense=1"})
    assert r.status_code == 400
