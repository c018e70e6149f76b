"""Conditional creates inside a transaction (`request.ifNoneExist`), as importers send them by the hundred.

A transaction resolves all its `identifier=system|value` criteria in one lookup; these tests pin down that the
answers are exactly those of one conditional create at a time.
"""

from __future__ import annotations

import asyncio

import httpx

JSON = {"Content-Type": "application/fhir+json"}
SYSTEM = "http://example.org/mrn"


def patient(mrn: str) -> dict:
    return {"resourceType": "Patient", "identifier": [{"system": SYSTEM, "value": mrn}]}


def conditional(mrn: str, full_url: str | None = None, criteria: str | None = None) -> dict:
    entry: dict = {
        "resource": patient(mrn),
        "request": {"method": "POST", "url": "Patient", "ifNoneExist": criteria or f"identifier={SYSTEM}|{mrn}"},
    }
    if full_url:
        entry["fullUrl"] = full_url
    return entry


def transaction(*entries: dict) -> dict:
    return {"resourceType": "Bundle", "type": "transaction", "entry": list(entries)}


async def count(client: httpx.AsyncClient, mrn: str) -> int:
    escaped = mrn.replace(",", "\\,")
    bundle = (await client.get("Patient", params={"identifier": f"{SYSTEM}|{escaped}", "_summary": "count"})).json()
    return int(bundle["total"])


def statuses(response: httpx.Response) -> list[str]:
    return [e["response"]["status"] for e in response.json()["entry"]]


async def test_existing_matches_are_answered_and_new_ones_created(client: httpx.AsyncClient) -> None:
    existing = (await client.post("Patient", json=patient("a"), headers=JSON)).json()["id"]
    r = await client.post("", json=transaction(conditional("a"), conditional("b"), conditional("c")), headers=JSON)
    assert r.status_code == 200, r.text
    assert statuses(r) == ["200 OK", "201 Created", "201 Created"]
    assert f"Patient/{existing}/" in r.json()["entry"][0]["response"]["location"]
    assert [await count(client, m) for m in "abc"] == [1, 1, 1]


async def test_a_second_import_of_the_same_transaction_creates_nothing(client: httpx.AsyncClient) -> None:
    bundle = transaction(*(conditional(f"m{i}") for i in range(30)))
    first = await client.post("", json=bundle, headers=JSON)
    again = await client.post("", json=bundle, headers=JSON)
    assert set(statuses(first)) == {"201 Created"}
    assert set(statuses(again)) == {"200 OK"}
    assert [e["response"]["location"] for e in again.json()["entry"]] == [
        e["response"]["location"] for e in first.json()["entry"]
    ]


async def test_the_same_criteria_twice_in_one_transaction_make_one_resource(client: httpx.AsyncClient) -> None:
    r = await client.post("", json=transaction(conditional("twice"), conditional("twice")), headers=JSON)
    assert statuses(r) == ["201 Created", "200 OK"]
    locations = {e["response"]["location"] for e in r.json()["entry"]}
    assert len(locations) == 1
    assert await count(client, "twice") == 1


async def test_references_to_both_full_urls_of_a_repeated_create_reach_the_one_resource(
    client: httpx.AsyncClient,
) -> None:
    first, second = "urn:uuid:0b9d8a8e-8f50-4f4e-9d9e-000000000001", "urn:uuid:0b9d8a8e-8f50-4f4e-9d9e-000000000002"
    encounters = [
        {
            "resource": {
                "resourceType": "Encounter",
                "status": "finished",
                "class": {"code": "AMB"},
                "subject": {"reference": ref},
            },
            "request": {"method": "POST", "url": "Encounter"},
        }
        for ref in (first, second)
    ]
    bundle = transaction(conditional("shared", first), conditional("shared", second), *encounters)
    r = await client.post("", json=bundle, headers=JSON)
    assert r.status_code == 200, r.text
    subjects = set()
    for entry in r.json()["entry"][2:]:
        stored = (await client.get(entry["response"]["location"])).json()
        subjects.add(stored["subject"]["reference"])
    patient_id = r.json()["entry"][0]["response"]["location"].split("/")[-3]
    assert subjects == {f"Patient/{patient_id}"}


async def test_an_escaped_comma_in_the_identifier_is_one_value(client: httpx.AsyncClient) -> None:
    await client.post("Patient", json=patient("x,y"), headers=JSON)
    r = await client.post("", json=transaction(conditional("x,y", criteria=f"identifier={SYSTEM}|x\\,y")), headers=JSON)
    assert statuses(r) == ["200 OK"]
    assert await count(client, "x,y") == 1


async def test_criteria_matching_two_resources_fail_the_transaction(client: httpx.AsyncClient) -> None:
    for _ in range(2):
        await client.post("Patient", json=patient("dup"), headers=JSON)
    r = await client.post("", json=transaction(conditional("fresh"), conditional("dup")), headers=JSON)
    assert r.status_code == 412
    assert "Bundle.entry[1]" in r.json()["issue"][0]["diagnostics"]
    assert await count(client, "fresh") == 0


async def test_racing_transactions_with_the_same_identifiers_make_each_resource_once(
    client: httpx.AsyncClient,
) -> None:
    bundle = transaction(*(conditional(f"race{i}") for i in range(20)))
    results = await asyncio.gather(*(client.post("", json=bundle, headers=JSON) for _ in range(4)))
    assert {r.status_code for r in results} == {200}
    assert [await count(client, f"race{i}") for i in range(20)] == [1] * 20
