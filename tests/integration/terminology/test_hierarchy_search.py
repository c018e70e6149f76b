"""Searching by subsumption over HTTP: `code:below` / `code:above` with the shipped ICD-10-CM hierarchy."""

from __future__ import annotations

import httpx

from tests.integration.terminology.conditions import ids, put_condition, put_patient

ICD = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"


async def _seed(client: httpx.AsyncClient) -> None:
    await put_patient(client)
    await put_condition(client, "f32", ICD, "F32")  # the category itself
    await put_condition(client, "f32-1", ICD, "F32.1")  # moderate single episode, under F32
    await put_condition(client, "f33-1", ICD, "F33.1")  # recurrent: the sibling category F33
    await put_condition(client, "other-system", "http://example.org/codes", "F32.1")


async def test_below_a_category_finds_it_and_its_codes_not_the_sibling_category(client: httpx.AsyncClient) -> None:
    await _seed(client)
    r = await client.get("Condition", params={"code:below": f"{ICD}|F32"})
    assert r.status_code == 200
    assert ids(r.json()) == {"f32", "f32-1"}


async def test_below_a_leaf_code_finds_only_that_code(client: httpx.AsyncClient) -> None:
    await _seed(client)
    r = await client.get("Condition", params={"code:below": f"{ICD}|F33.1"})
    assert ids(r.json()) == {"f33-1"}


async def test_above_a_code_finds_it_and_its_category(client: httpx.AsyncClient) -> None:
    await _seed(client)
    r = await client.get("Condition", params={"code:above": f"{ICD}|F32.1"})
    assert ids(r.json()) == {"f32", "f32-1"}


async def test_below_without_a_system_is_400(client: httpx.AsyncClient) -> None:
    r = await client.get("Condition", params={"code:below": "F32"})
    assert r.status_code == 400
    issue = r.json()["issue"][0]
    assert issue["code"] == "invalid"
    assert "needs system|code" in issue["diagnostics"]


async def test_below_in_a_system_without_hierarchy_is_400_saying_why(client: httpx.AsyncClient) -> None:
    r = await client.get("Condition", params={"code:below": f"{SNOMED}|370143000"})
    assert r.status_code == 400
    assert "without its hierarchy" in r.json()["issue"][0]["diagnostics"]


async def test_below_a_code_the_server_does_not_hold_is_400_saying_why(client: httpx.AsyncClient) -> None:
    r = await client.get("Condition", params={"code:below": f"{ICD}|F99.99"})
    assert r.status_code == 400
    assert "not in the subset" in r.json()["issue"][0]["diagnostics"]
