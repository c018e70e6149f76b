"""Transactions are all-or-nothing; batches report each entry on its own."""

from __future__ import annotations

import httpx

JSON = {"Content-Type": "application/fhir+json"}


def obs(subject: str, value: float = 70) -> dict:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": subject},
        "valueQuantity": {
            "value": value,
            "unit": "/min",
            "system": "http://unitsofmeasure.org",
            "code": "/min",
        },
    }


def transaction(*entries: dict) -> dict:
    return {"resourceType": "Bundle", "type": "transaction", "entry": list(entries)}


PATIENT_ENTRY = {
    "fullUrl": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a",
    "resource": {
        "resourceType": "Patient",
        "identifier": [{"system": "http://example.org/mrn", "value": "tx"}],
    },
    "request": {"method": "POST", "url": "Patient"},
}


async def test_transaction_resolves_urn_uuid_references(client: httpx.AsyncClient) -> None:
    bundle = transaction(
        {"resource": obs(PATIENT_ENTRY["fullUrl"]), "request": {"method": "POST", "url": "Observation"}},
        PATIENT_ENTRY,
    )
    r = await client.post("", json=bundle, headers=JSON)
    assert r.status_code == 200
    out = r.json()
    assert out["type"] == "transaction-response"
    obs_location = out["entry"][0]["response"]["location"]
    patient_location = out["entry"][1]["response"]["location"]
    stored = (await client.get(obs_location)).json()
    assert stored["subject"]["reference"] == "/".join(patient_location.split("/")[-4:-2])


async def test_failed_entry_rolls_back_the_whole_transaction(client: httpx.AsyncClient) -> None:
    bad = {
        "resource": {"resourceType": "Observation", "status": "nope"},
        "request": {"method": "POST", "url": "Observation"},
    }
    r = await client.post("", json=transaction(PATIENT_ENTRY, bad), headers=JSON)
    assert r.status_code == 400
    assert "Bundle.entry[1]" in r.json()["issue"][0]["diagnostics"]
    assert (await client.get("Patient")).json()["total"] == 0


async def test_conditional_reference_resolves_to_the_one_match(client: httpx.AsyncClient) -> None:
    await client.post("", json=transaction(PATIENT_ENTRY), headers=JSON)
    ref = "Patient?identifier=http://example.org/mrn|tx"
    r = await client.post(
        "",
        json=transaction({"resource": obs(ref), "request": {"method": "POST", "url": "Observation"}}),
        headers=JSON,
    )
    assert r.status_code == 200
    stored = (await client.get(r.json()["entry"][0]["response"]["location"])).json()
    assert stored["subject"]["reference"].startswith("Patient/")


async def test_conditional_reference_without_match_fails_the_transaction(client: httpx.AsyncClient) -> None:
    ref = "Patient?identifier=http://example.org/mrn|nobody"
    r = await client.post(
        "",
        json=transaction({"resource": obs(ref), "request": {"method": "POST", "url": "Observation"}}),
        headers=JSON,
    )
    assert r.status_code == 400
    assert (await client.get("Observation")).json()["total"] == 0


async def test_transaction_touching_one_resource_twice_is_refused(client: httpx.AsyncClient) -> None:
    p = {"resourceType": "Patient", "id": "twice"}
    entry = {"resource": p, "request": {"method": "PUT", "url": "Patient/twice"}}
    r = await client.post("", json=transaction(entry, entry), headers=JSON)
    assert r.status_code == 400


async def test_batch_entries_succeed_or_fail_independently(client: httpx.AsyncClient) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Patient"}},
            {"request": {"method": "GET", "url": "Patient/missing"}},
            {
                "resource": {"resourceType": "Patient", "gender": 3},
                "request": {"method": "POST", "url": "Patient"},
            },
        ],
    }
    out = (await client.post("", json=bundle, headers=JSON)).json()
    assert out["type"] == "batch-response"
    statuses = [e["response"]["status"] for e in out["entry"]]
    assert statuses[0].startswith("201")
    assert statuses[1].startswith("404")
    assert statuses[2].startswith("400")
    assert out["entry"][2]["response"]["outcome"]["resourceType"] == "OperationOutcome"


async def test_transaction_processes_deletes_before_creates(client: httpx.AsyncClient) -> None:
    await client.put("Patient/old", json={"resourceType": "Patient", "id": "old"}, headers=JSON)
    bundle = transaction(
        {"resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Patient"}},
        {"request": {"method": "DELETE", "url": "Patient/old"}},
    )
    out = (await client.post("", json=bundle, headers=JSON)).json()
    assert out["entry"][0]["response"]["status"].startswith("201")
    assert out["entry"][1]["response"]["status"].startswith("204")
    assert (await client.get("Patient/old")).status_code == 410


async def test_non_bundle_post_to_base_is_400(client: httpx.AsyncClient) -> None:
    r = await client.post("", json={"resourceType": "Patient"}, headers=JSON)
    assert r.status_code == 400
