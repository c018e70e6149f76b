"""Create, read, update, delete, history: the RESTful interactions against a real database."""

from __future__ import annotations

import asyncio

import httpx

PATIENT = {"resourceType": "Patient", "name": [{"family": "Doe", "given": ["Jane"]}], "gender": "female"}
JSON = {"Content-Type": "application/fhir+json"}


async def create(client: httpx.AsyncClient, resource: dict, **headers: str) -> httpx.Response:
    return await client.post(resource["resourceType"], json=resource, headers={**JSON, **headers})


async def test_create_assigns_id_and_version_headers(client: httpx.AsyncClient) -> None:
    r = await create(client, PATIENT)
    assert r.status_code == 201
    body = r.json()
    assert body["meta"]["versionId"] == "1"
    assert r.headers["etag"] == 'W/"1"'
    assert r.headers["location"].endswith(f"/fhir/Patient/{body['id']}/_history/1")
    assert "last-modified" in r.headers
    assert r.headers["content-type"].startswith("application/fhir+json")


async def test_create_prefer_minimal_returns_no_body(client: httpx.AsyncClient) -> None:
    r = await create(client, PATIENT, Prefer="return=minimal")
    assert r.status_code == 201
    assert r.content == b""
    assert "location" in r.headers


async def test_create_prefer_operation_outcome(client: httpx.AsyncClient) -> None:
    r = await create(client, PATIENT, Prefer="return=OperationOutcome")
    assert r.json()["resourceType"] == "OperationOutcome"


async def test_read_returns_what_was_stored(client: httpx.AsyncClient) -> None:
    created = (await create(client, PATIENT)).json()
    r = await client.get(f"Patient/{created['id']}")
    assert r.status_code == 200
    assert r.json() == created


async def test_read_unknown_is_404_outcome(client: httpx.AsyncClient) -> None:
    r = await client.get("Patient/does-not-exist")
    assert r.status_code == 404
    assert r.json()["resourceType"] == "OperationOutcome"
    assert "Patient/does-not-exist" in r.json()["issue"][0]["diagnostics"]


async def test_unknown_resource_type_is_404(client: httpx.AsyncClient) -> None:
    r = await client.get("Patientx/1")
    assert r.status_code == 404
    assert r.json()["issue"][0]["code"] == "not-supported"


async def test_invalid_resource_is_400_naming_the_element(client: httpx.AsyncClient) -> None:
    r = await create(client, {"resourceType": "Patient", "gender": 12, "bogus": True})
    assert r.status_code == 400
    diagnostics = r.json()["issue"][0]["diagnostics"]
    assert "Patient.gender" in diagnostics
    assert "Patient.bogus" in diagnostics


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    r = await client.post("Patient", content=b"{not json", headers=JSON)
    assert r.status_code == 400
    assert "not valid JSON" in r.json()["issue"][0]["diagnostics"]


async def test_body_type_must_match_url(client: httpx.AsyncClient) -> None:
    r = await client.post("Observation", json=PATIENT, headers=JSON)
    assert r.status_code == 400


async def test_update_creates_a_new_version(client: httpx.AsyncClient) -> None:
    created = (await create(client, PATIENT)).json()
    changed = {**created, "gender": "other"}
    r = await client.put(f"Patient/{created['id']}", json=changed, headers=JSON)
    assert r.status_code == 200
    assert r.json()["meta"]["versionId"] == "2"
    assert (await client.get(f"Patient/{created['id']}")).json()["gender"] == "other"


async def test_update_as_create_with_client_id(client: httpx.AsyncClient) -> None:
    r = await client.put("Patient/client-chosen", json={**PATIENT, "id": "client-chosen"}, headers=JSON)
    assert r.status_code == 201
    assert (await client.get("Patient/client-chosen")).status_code == 200


async def test_update_with_mismatched_id_is_400(client: httpx.AsyncClient) -> None:
    r = await client.put("Patient/a", json={**PATIENT, "id": "b"}, headers=JSON)
    assert r.status_code == 400


async def test_if_match_with_stale_version_is_412(client: httpx.AsyncClient) -> None:
    created = (await create(client, PATIENT)).json()
    url = f"Patient/{created['id']}"
    assert (await client.put(url, json=created, headers={**JSON, "If-Match": 'W/"1"'})).status_code == 200
    r = await client.put(url, json=created, headers={**JSON, "If-Match": 'W/"1"'})
    assert r.status_code == 412


async def test_concurrent_if_match_updates_have_exactly_one_winner(client: httpx.AsyncClient) -> None:
    created = (await create(client, PATIENT)).json()
    url = f"Patient/{created['id']}"
    results = await asyncio.gather(
        *(
            client.put(url, json={**created, "gender": g}, headers={**JSON, "If-Match": 'W/"1"'})
            for g in ("male", "female", "other", "unknown")
        )
    )
    codes = sorted(r.status_code for r in results)
    assert codes.count(200) == 1
    assert all(c in (409, 412) for c in codes if c != 200)
    assert (await client.get(url)).json()["meta"]["versionId"] == "2"


async def test_delete_then_read_is_410_and_history_is_kept(client: httpx.AsyncClient) -> None:
    created = (await create(client, PATIENT)).json()
    url = f"Patient/{created['id']}"
    assert (await client.delete(url)).status_code == 204
    assert (await client.get(url)).status_code == 410
    history = (await client.get(f"{url}/_history")).json()
    assert history["type"] == "history"
    assert [e["request"]["method"] for e in history["entry"]] == ["DELETE", "POST"]
    assert (await client.get(f"{url}/_history/1")).json()["id"] == created["id"]


async def test_delete_of_unknown_resource_succeeds(client: httpx.AsyncClient) -> None:
    assert (await client.delete("Patient/never-there")).status_code == 204


async def test_vread_of_unknown_version_is_404(client: httpx.AsyncClient) -> None:
    created = (await create(client, PATIENT)).json()
    assert (await client.get(f"Patient/{created['id']}/_history/9")).status_code == 404


async def test_type_and_system_history_with_count_and_since(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        await create(client, PATIENT)
    first = (await client.get("Patient/_history", params={"_count": "2"})).json()
    assert first["total"] == 3
    assert len(first["entry"]) == 2
    next_url = next(link["url"] for link in first["link"] if link["relation"] == "next")
    second = (await client.get(next_url)).json()
    assert len(second["entry"]) == 1
    assert (await client.get("_history", params={"_since": "2100-01-01T00:00:00Z"})).json()["total"] == 0


async def test_history_pages_do_not_shift_when_data_changes(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        await create(client, PATIENT)
    first = (await client.get("Patient/_history", params={"_count": "2"})).json()
    await create(client, PATIENT)
    next_url = next(link["url"] for link in first["link"] if link["relation"] == "next")
    second = (await client.get(next_url)).json()
    seen = {e["fullUrl"] for e in first["entry"]}
    assert len(second["entry"]) == 1
    assert second["entry"][0]["fullUrl"] not in seen


async def test_json_patch(client: httpx.AsyncClient) -> None:
    created = (await create(client, PATIENT)).json()
    ops = [{"op": "replace", "path": "/gender", "value": "male"}]
    r = await client.patch(
        f"Patient/{created['id']}", json=ops, headers={"Content-Type": "application/json-patch+json"}
    )
    assert r.status_code == 200
    assert r.json()["gender"] == "male"
    assert r.json()["meta"]["versionId"] == "2"


async def test_json_patch_that_breaks_the_resource_is_rejected(client: httpx.AsyncClient) -> None:
    created = (await create(client, PATIENT)).json()
    ops = [{"op": "replace", "path": "/gender", "value": 5}]
    r = await client.patch(
        f"Patient/{created['id']}", json=ops, headers={"Content-Type": "application/json-patch+json"}
    )
    assert r.status_code == 400
    assert (await client.get(f"Patient/{created['id']}")).json()["meta"]["versionId"] == "1"


async def test_xml_is_refused_with_406_and_415(client: httpx.AsyncClient) -> None:
    assert (await client.get("metadata", headers={"Accept": "application/fhir+xml"})).status_code == 406
    assert (await client.get("metadata", params={"_format": "xml"})).status_code == 406
    r = await client.post("Patient", content=b"<Patient/>", headers={"Content-Type": "application/fhir+xml"})
    assert r.status_code == 415


async def test_plain_json_content_type_is_accepted(client: httpx.AsyncClient) -> None:
    r = await client.post("Patient", json=PATIENT, headers={"Content-Type": "application/json"})
    assert r.status_code == 201


async def test_unsupported_method_is_405_outcome(client: httpx.AsyncClient) -> None:
    r = await client.request("PATCH", "Patient")
    assert r.status_code == 405
    assert r.json()["resourceType"] == "OperationOutcome"


async def test_reference_to_missing_resource_is_422(client: httpx.AsyncClient) -> None:
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "mood"},
        "subject": {"reference": "Patient/nobody"},
    }
    r = await client.post("Observation", json=obs, headers=JSON)
    assert r.status_code == 422
    assert "Patient/nobody" in r.json()["issue"][0]["diagnostics"]
    assert (await client.get("Observation")).json()["total"] == 0


async def test_reference_to_existing_resource_is_accepted(client: httpx.AsyncClient) -> None:
    patient = (await create(client, PATIENT)).json()
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "mood"},
        "subject": {"reference": f"Patient/{patient['id']}"},
    }
    assert (await client.post("Observation", json=obs, headers=JSON)).status_code == 201


async def test_concurrent_plain_updates_all_land_as_successive_versions(client: httpx.AsyncClient) -> None:
    created = (await create(client, PATIENT)).json()
    url = f"Patient/{created['id']}"
    results = await asyncio.gather(
        *(client.put(url, json={**created, "birthDate": f"200{i}"}, headers=JSON) for i in range(6))
    )
    assert [r.status_code for r in results] == [200] * 6
    assert sorted(int(r.json()["meta"]["versionId"]) for r in results) == [2, 3, 4, 5, 6, 7]
    assert (await client.get(f"{url}/_history")).json()["total"] == 7


async def test_racing_update_as_create_makes_one_resource(client: httpx.AsyncClient) -> None:
    body = {**PATIENT, "id": "raced"}
    results = await asyncio.gather(*(client.put("Patient/raced", json=body, headers=JSON) for _ in range(5)))
    assert sorted(r.status_code for r in results) == [200, 200, 200, 200, 201]
    assert (await client.get("Patient/raced/_history")).json()["total"] == 5


async def test_types_without_own_search_parameters_are_stored_and_searchable(client: httpx.AsyncClient) -> None:
    r = await client.put("SubstancePolymer/sp1", json={"resourceType": "SubstancePolymer", "id": "sp1"}, headers=JSON)
    assert r.status_code == 201
    bundle = (await client.get("SubstancePolymer", params={"_id": "sp1"})).json()
    assert bundle["total"] == 1
