"""Search over HTTP: paging, includes, result shaping, strictness, compartments and $everything."""

from __future__ import annotations

import httpx
import pytest

JSON = {"Content-Type": "application/fhir+json"}
LOINC = "http://loinc.org"


async def put(client: httpx.AsyncClient, resource: dict) -> dict:
    r = await client.put(f"{resource['resourceType']}/{resource['id']}", json=resource, headers=JSON)
    assert r.status_code in (200, 201), r.text
    return r.json()


def heart_rate(oid: str, patient: str, value: float, when: str) -> dict:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "8867-4", "display": "Heart rate"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": when,
        "valueQuantity": {
            "value": value,
            "unit": "/min",
            "system": "http://unitsofmeasure.org",
            "code": "/min",
        },
    }


@pytest.fixture
async def cohort(client: httpx.AsyncClient) -> None:
    await put(client, {"resourceType": "Practitioner", "id": "doc", "name": [{"family": "House"}]})
    for pid, family in (("p1", "Smith"), ("p2", "Smythe")):
        await put(
            client,
            {
                "resourceType": "Patient",
                "id": pid,
                "name": [{"family": family}],
                "generalPractitioner": [{"reference": "Practitioner/doc"}],
            },
        )
    for i in range(5):
        await put(client, heart_rate(f"o{i}", "p1", 60 + i, f"2024-01-0{i + 1}T08:00:00Z"))
    await put(client, heart_rate("o9", "p2", 90, "2024-02-01"))


async def ids(client: httpx.AsyncClient, url: str, **params: str) -> list[str]:
    bundle = (await client.get(url, params=params)).json()
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]


@pytest.mark.usefixtures("cohort")
async def test_search_by_reference_code_and_date(client: httpx.AsyncClient) -> None:
    found = await ids(client, "Observation", patient="p1", code=f"{LOINC}|8867-4", date="ge2024-01-03", _sort="date")
    assert found == ["o2", "o3", "o4"]


@pytest.mark.usefixtures("cohort")
async def test_sort_descending(client: httpx.AsyncClient) -> None:
    assert await ids(client, "Observation", patient="p1", _sort="-date", _count="2") == ["o4", "o3"]


@pytest.mark.usefixtures("cohort")
async def test_paging_follows_next_links_to_the_end(client: httpx.AsyncClient) -> None:
    bundle = (await client.get("Observation", params={"patient": "p1", "_count": "2", "_sort": "date"})).json()
    assert bundle["total"] == 5
    seen = [e["resource"]["id"] for e in bundle["entry"]]
    while next_link := next((lk["url"] for lk in bundle["link"] if lk["relation"] == "next"), None):
        bundle = (await client.get(next_link)).json()
        seen += [e["resource"]["id"] for e in bundle["entry"]]
    assert seen == ["o0", "o1", "o2", "o3", "o4"]


@pytest.mark.usefixtures("cohort")
async def test_paging_is_stable_while_data_changes(client: httpx.AsyncClient) -> None:
    first = (await client.get("Observation", params={"patient": "p1", "_count": "2", "_sort": "date"})).json()
    await put(client, heart_rate("early", "p1", 50, "2023-12-31"))  # would sort first in a fresh search
    next_link = next(lk["url"] for lk in first["link"] if lk["relation"] == "next")
    second = (await client.get(next_link)).json()
    assert [e["resource"]["id"] for e in second["entry"]] == ["o2", "o3"]


@pytest.mark.usefixtures("cohort")
async def test_include_and_revinclude(client: httpx.AsyncClient) -> None:
    bundle = (
        await client.get(
            "Patient",
            params=[
                ("_id", "p1"),
                ("_revinclude", "Observation:subject"),
                ("_include", "Patient:general-practitioner"),
            ],
        )
    ).json()
    modes = {(e["resource"]["resourceType"], e["search"]["mode"]) for e in bundle["entry"]}
    assert ("Patient", "match") in modes
    assert ("Observation", "include") in modes
    assert ("Practitioner", "include") in modes
    assert bundle["total"] == 1


@pytest.mark.usefixtures("cohort")
async def test_include_iterate_reaches_two_hops(client: httpx.AsyncClient) -> None:
    bundle = (
        await client.get(
            "Observation",
            params=[
                ("_id", "o9"),
                ("_include", "Observation:subject"),
                ("_include:iterate", "Patient:general-practitioner"),
            ],
        )
    ).json()
    types = sorted(e["resource"]["resourceType"] for e in bundle["entry"])
    assert types == ["Observation", "Patient", "Practitioner"]


@pytest.mark.usefixtures("cohort")
async def test_summary_count_returns_only_the_total(client: httpx.AsyncClient) -> None:
    bundle = (await client.get("Observation", params={"_summary": "count"})).json()
    assert bundle["total"] == 6
    assert "entry" not in bundle


@pytest.mark.usefixtures("cohort")
async def test_elements_subsets_and_tags(client: httpx.AsyncClient) -> None:
    bundle = (await client.get("Observation", params={"_id": "o1", "_elements": "status"})).json()
    resource = bundle["entry"][0]["resource"]
    assert set(resource) == {"resourceType", "id", "meta", "status"}
    assert any(tag["code"] == "SUBSETTED" for tag in resource["meta"]["tag"])


@pytest.mark.usefixtures("cohort")
async def test_unknown_parameter_lenient_reports_outcome(client: httpx.AsyncClient) -> None:
    bundle = (await client.get("Observation", params={"patient": "p2", "colour": "blue"})).json()
    modes = [e["search"]["mode"] for e in bundle["entry"]]
    assert modes.count("match") == 1
    assert modes.count("outcome") == 1


@pytest.mark.usefixtures("cohort")
async def test_unknown_parameter_strict_is_400(client: httpx.AsyncClient) -> None:
    r = await client.get("Observation", params={"colour": "blue"}, headers={"Prefer": "handling=strict"})
    assert r.status_code == 400
    assert "colour" in r.json()["issue"][0]["diagnostics"]


@pytest.mark.usefixtures("cohort")
async def test_post_search_equals_get(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "Observation/_search",
        data={"patient": "p2"},
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert [e["resource"]["id"] for e in r.json()["entry"]] == ["o9"]


@pytest.mark.usefixtures("cohort")
async def test_compartment_search(client: httpx.AsyncClient) -> None:
    assert sorted(await ids(client, "Patient/p2/Observation")) == ["o9"]


@pytest.mark.usefixtures("cohort")
async def test_chained_search(client: httpx.AsyncClient) -> None:
    assert await ids(client, "Observation", **{"subject:Patient.name": "smyth"}) == ["o9"]


@pytest.mark.usefixtures("cohort")
async def test_reverse_chained_search(client: httpx.AsyncClient) -> None:
    assert await ids(client, "Patient", **{"_has:Observation:patient:date": "2024-02"}) == ["p2"]


@pytest.mark.usefixtures("cohort")
async def test_string_search_is_prefix_and_case_insensitive(client: httpx.AsyncClient) -> None:
    assert sorted(await ids(client, "Patient", name="SM")) == ["p1", "p2"]
    assert await ids(client, "Patient", **{"name:exact": "Smith"}) == ["p1"]


@pytest.mark.usefixtures("cohort")
async def test_quantity_search(client: httpx.AsyncClient) -> None:
    assert sorted(await ids(client, "Observation", **{"value-quantity": "gt63|http://unitsofmeasure.org|/min"})) == [
        "o4",
        "o9",
    ]


@pytest.mark.usefixtures("cohort")
async def test_everything_returns_patient_compartment_and_references(client: httpx.AsyncClient) -> None:
    bundle = (await client.get("Patient/p1/$everything")).json()
    types = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert types[0] == "Patient"
    assert types.count("Observation") == 5
    assert "Practitioner" in types


@pytest.mark.usefixtures("cohort")
async def test_everything_filters_by_type_and_pages(client: httpx.AsyncClient) -> None:
    bundle = (await client.get("Patient/p1/$everything", params={"_type": "Observation", "_count": "2"})).json()
    assert bundle["total"] == 5
    assert len(bundle["entry"]) == 2
    assert any(lk["relation"] == "next" for lk in bundle["link"])


async def test_everything_for_unknown_patient_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("Patient/nobody/$everything")).status_code == 404


async def test_validate_reports_problems_without_storing(client: httpx.AsyncClient) -> None:
    r = await client.post("Patient/$validate", json={"resourceType": "Patient", "gender": 1}, headers=JSON)
    assert r.status_code == 200
    assert r.json()["issue"][0]["severity"] == "error"
    assert (await client.get("Patient")).json()["total"] == 0


async def test_capability_statement_is_generated(client: httpx.AsyncClient) -> None:
    cs = (await client.get("metadata")).json()
    assert cs["fhirVersion"] == "4.0.1"
    observation = next(r for r in cs["rest"][0]["resource"] if r["type"] == "Observation")
    params = {p["name"]: p["type"] for p in observation["searchParam"]}
    assert params["code"] == "token"
    assert params["value-quantity"] == "quantity"
    patient = next(r for r in cs["rest"][0]["resource"] if r["type"] == "Patient")
    assert "everything" in {op["name"] for op in patient["operation"]}


@pytest.mark.usefixtures("cohort")
async def test_everything_start_and_end_bound_clinical_dates(client: httpx.AsyncClient) -> None:
    bundle = (
        await client.get("Patient/p1/$everything", params={"start": "2024-01-02", "end": "2024-01-03", "_count": "50"})
    ).json()
    observations = sorted(
        e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    )
    assert observations == ["o1", "o2"]
    assert bundle["entry"][0]["resource"]["id"] == "p1"  # undated resources are always included


@pytest.mark.usefixtures("cohort")
async def test_everything_since_keeps_recent_changes_only(client: httpx.AsyncClient) -> None:
    bundle = (await client.get("Patient/p1/$everything", params={"_since": "2100-01-01T00:00:00Z"})).json()
    assert bundle.get("entry", []) == []


async def test_everything_rejects_a_malformed_count(client: httpx.AsyncClient) -> None:
    await put(client, {"resourceType": "Patient", "id": "solo"})
    r = await client.get("Patient/solo/$everything", params={"_count": "many"})
    assert r.status_code == 400


async def test_a_search_may_list_hundreds_of_token_values(client: httpx.AsyncClient) -> None:
    wanted = {"resourceType": "Patient", "identifier": [{"system": "http://example.org/mrn", "value": "m-42"}]}
    assert (await client.post("Patient", json=wanted)).status_code == 201
    values = ",".join(f"http://example.org/mrn|m-{i}" for i in range(500))
    r = await client.get("Patient", params={"identifier": values})
    assert r.status_code == 200, r.text
    assert r.json()["total"] == 1
