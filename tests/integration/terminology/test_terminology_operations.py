"""$lookup, $validate-code, $expand, $translate and $subsumes over HTTP: Parameters in and out, clear errors."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from tests.integration.terminology.conftest import BASE, token_for

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
VS = "http://novamind.example.org/fhir/ValueSet/"
MAP = "http://novamind.example.org/fhir/ConceptMap/icd10cm-to-snomed"


def out(body: dict[str, Any], name: str) -> Any:
    """The value of the output parameter `name` (its first value[x])."""
    param = next(p for p in body["parameter"] if p["name"] == name)
    return next(v for k, v in param.items() if k.startswith("value"))


def parts(param: dict[str, Any]) -> dict[str, Any]:
    return {p["name"]: next(v for k, v in p.items() if k.startswith("value")) for p in param["part"]}


def params(**values: Any) -> dict[str, Any]:
    """A Parameters body; a dict value is sent as a Coding."""
    return {
        "resourceType": "Parameters",
        "parameter": [
            {"name": name, "valueCoding" if isinstance(v, dict) else "valueString": v} for name, v in values.items()
        ],
    }


def issue(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    return body["issue"][0]  # type: ignore[no-any-return]


# ---- $lookup ---------------------------------------------------------------------------------------------


async def test_lookup_gives_display_and_properties(client: httpx.AsyncClient) -> None:
    r = await client.get("CodeSystem/$lookup", params={"system": LOINC, "code": "8867-4"})
    assert r.status_code == 200
    body = r.json()
    assert body["resourceType"] == "Parameters"
    assert out(body, "display") == "Heart rate"
    properties = [parts(p) for p in body["parameter"] if p["name"] == "property"]
    assert {"code": "ucum-unit", "value": "/min"} in properties


async def test_lookup_by_post_with_a_coding(client: httpx.AsyncClient) -> None:
    r = await client.post("CodeSystem/$lookup", json=params(coding={"system": ICD, "code": "F43.1"}))
    assert r.status_code == 200
    children = [
        parts(p)["value"] for p in r.json()["parameter"] if p["name"] == "property" and parts(p)["code"] == "child"
    ]
    assert children == ["F43.10", "F43.11", "F43.12"]


async def test_lookup_returns_designations(client: httpx.AsyncClient) -> None:
    body = (await client.get("CodeSystem/$lookup", params={"system": LOINC, "code": "LA10317-8"})).json()
    [designation] = [parts(p) for p in body["parameter"] if p["name"] == "designation"]
    assert designation["value"] == "Intermediate metabolizer"


async def test_lookup_in_an_unknown_code_system_is_404(client: httpx.AsyncClient) -> None:
    r = await client.get("CodeSystem/$lookup", params={"system": "http://example.org/x", "code": "1"})
    assert r.status_code == 404
    assert issue(r)["code"] == "not-found"


async def test_lookup_of_a_code_outside_the_subset_is_404_saying_so(client: httpx.AsyncClient) -> None:
    r = await client.get("CodeSystem/$lookup", params={"system": LOINC, "code": "2345-7"})
    assert r.status_code == 404
    assert "subset" in issue(r)["diagnostics"]


async def test_lookup_without_a_code_is_400(client: httpx.AsyncClient) -> None:
    r = await client.get("CodeSystem/$lookup", params={"system": LOINC})
    assert r.status_code == 400
    assert issue(r)["code"] == "invalid"


# ---- $validate-code --------------------------------------------------------------------------------------


async def test_code_system_validate_code_checks_the_display(client: httpx.AsyncClient) -> None:
    good = (await client.get("CodeSystem/$validate-code", params={"url": LOINC, "code": "8867-4"})).json()
    assert out(good, "result") is True
    bad = await client.get("CodeSystem/$validate-code", params={"url": LOINC, "code": "8867-4", "display": "Pulse"})
    assert bad.status_code == 200
    assert out(bad.json(), "result") is False
    assert "Heart rate" in out(bad.json(), "message")


async def test_code_system_validate_code_on_the_instance(client: httpx.AsyncClient) -> None:
    body = (await client.get("CodeSystem/icd-10-cm/$validate-code", params={"code": "F32.1"})).json()
    assert out(body, "result") is True
    assert out(body, "display") == "Major depressive disorder, single episode, moderate"


async def test_value_set_validate_code_reports_a_non_member_as_false(client: httpx.AsyncClient) -> None:
    r = await client.get(
        "ValueSet/$validate-code", params={"url": VS + "psychiatric-conditions", "system": ICD, "code": "R45.851"}
    )
    assert r.status_code == 200
    assert out(r.json(), "result") is False
    assert "not in the value set" in out(r.json(), "message")


async def test_value_set_validate_code_by_post_with_a_codeable_concept(client: httpx.AsyncClient) -> None:
    concept = {"coding": [{"system": ICD, "code": "R45.851"}, {"system": SNOMED, "code": "370143000"}]}
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "url", "valueUri": VS + "psychiatric-conditions"},
            {"name": "codeableConcept", "valueCodeableConcept": concept},
        ],
    }
    r = await client.post("ValueSet/$validate-code", json=body)
    assert out(r.json(), "result") is True


async def test_value_set_validate_code_of_an_unknown_value_set_is_404(client: httpx.AsyncClient) -> None:
    r = await client.get("ValueSet/no-such-set/$validate-code", params={"code": "x"})
    assert r.status_code == 404


# ---- $expand ---------------------------------------------------------------------------------------------


async def test_expand_returns_the_value_set_with_its_members(client: httpx.AsyncClient) -> None:
    r = await client.get("ValueSet/$expand", params={"url": VS + "phq-gad-answers", "displayLanguage": "de"})
    assert r.status_code == 200
    expansion = r.json()["expansion"]
    assert expansion["total"] == 4
    assert expansion["contains"][0]["display"] == "Not at all"


async def test_expand_filters_and_pages(client: httpx.AsyncClient) -> None:
    query = {"filter": "depress", "offset": "2", "count": "3"}
    r = await client.get("ValueSet/psychiatric-conditions/$expand", params=query)
    expansion = r.json()["expansion"]
    assert expansion["offset"] == 2
    assert len(expansion["contains"]) == 3
    assert expansion["total"] > 5


async def test_expand_by_post(client: httpx.AsyncClient) -> None:
    r = await client.post("ValueSet/$expand", json=params(url=VS + "twin-concepts", count="1"))
    assert len(r.json()["expansion"]["contains"]) == 1


async def test_expand_with_a_bad_count_is_400(client: httpx.AsyncClient) -> None:
    r = await client.get("ValueSet/$expand", params={"url": VS + "phq-gad-answers", "count": "-1"})
    assert r.status_code == 400


async def test_expand_of_an_unknown_value_set_is_404(client: httpx.AsyncClient) -> None:
    r = await client.get("ValueSet/$expand", params={"url": VS + "nothing"})
    assert r.status_code == 404


# ---- $translate ------------------------------------------------------------------------------------------


async def test_translate_icd10cm_to_snomed(client: httpx.AsyncClient) -> None:
    r = await client.get("ConceptMap/$translate", params={"url": MAP, "system": ICD, "code": "F32.1"})
    body = r.json()
    assert out(body, "result") is True
    [match] = [parts(p) for p in body["parameter"] if p["name"] == "match"]
    assert match["equivalence"] == "equivalent"
    assert (match["concept"]["system"], match["concept"]["code"]) == (SNOMED, "15639000")
    assert match["source"] == MAP


async def test_translate_in_reverse(client: httpx.AsyncClient) -> None:
    query = {"system": SNOMED, "code": "15639000", "reverse": "true"}
    body = (await client.get("ConceptMap/icd10cm-to-snomed/$translate", params=query)).json()
    matches = [parts(p) for p in body["parameter"] if p["name"] == "match"]
    assert {"system": ICD, "code": "F32.1", "display": "Major depressive disorder, single episode, moderate"} in [
        m["concept"] for m in matches
    ]


async def test_translate_of_an_unmatched_code_is_false_with_the_equivalence(client: httpx.AsyncClient) -> None:
    body = (await client.post("ConceptMap/$translate", json=params(system=ICD, code="T14.91XA"))).json()
    assert out(body, "result") is False
    [match] = [parts(p) for p in body["parameter"] if p["name"] == "match"]
    assert match["equivalence"] == "unmatched"


async def test_translate_with_an_unknown_map_is_404(client: httpx.AsyncClient) -> None:
    r = await client.get(
        "ConceptMap/$translate", params={"url": "http://example.org/map", "system": ICD, "code": "F32"}
    )
    assert r.status_code == 404


# ---- $subsumes -------------------------------------------------------------------------------------------


async def test_subsumes_in_icd10cm(client: httpx.AsyncClient) -> None:
    body = (await client.get("CodeSystem/$subsumes", params={"system": ICD, "codeA": "F32", "codeB": "F32.1"})).json()
    assert out(body, "outcome") == "subsumes"


async def test_subsumes_with_codings_on_the_instance(client: httpx.AsyncClient) -> None:
    body = params(codingA={"system": ICD, "code": "F33.1"}, codingB={"system": ICD, "code": "F33"})
    assert out((await client.post("CodeSystem/icd-10-cm/$subsumes", json=body)).json(), "outcome") == "subsumed-by"


async def test_subsumes_without_a_hierarchy_is_400(client: httpx.AsyncClient) -> None:
    query = {"system": SNOMED, "codeA": "35489007", "codeB": "370143000"}
    r = await client.get("CodeSystem/$subsumes", params=query)
    assert r.status_code == 400
    assert "hierarchy" in issue(r)["diagnostics"]


# ---- authorization and capability ------------------------------------------------------------------------


async def test_the_operations_need_a_token(app: FastAPI) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE + "/") as anonymous:
        r = await anonymous.get("CodeSystem/$lookup", params={"system": LOINC, "code": "8867-4"})
    assert r.status_code == 401


async def test_the_operations_need_a_grant_on_the_type(app: FastAPI) -> None:
    headers = {"Authorization": f"Bearer {await token_for(app, 'system/Patient.rs')}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE + "/", headers=headers) as narrow:
        r = await narrow.get("ValueSet/$expand", params={"url": VS + "phq-gad-answers"})
    assert r.status_code == 403


async def test_any_grant_on_the_type_will_do(app: FastAPI) -> None:
    headers = {"Authorization": f"Bearer {await token_for(app, 'system/ValueSet.r')}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE + "/", headers=headers) as reader:
        r = await reader.get("ValueSet/$expand", params={"url": VS + "phq-gad-answers"})
    assert r.status_code == 200


async def test_the_capability_statement_lists_the_operations(client: httpx.AsyncClient) -> None:
    resources = {r["type"]: r for r in (await client.get("metadata")).json()["rest"][0]["resource"]}
    assert {o["name"] for o in resources["CodeSystem"]["operation"]} >= {"lookup", "validate-code", "subsumes"}
    assert {o["name"] for o in resources["ValueSet"]["operation"]} >= {"expand", "validate-code"}
    assert {o["name"] for o in resources["ConceptMap"]["operation"]} >= {"translate"}


async def test_the_capability_statement_points_at_the_specifications_own_operation_definitions(
    client: httpx.AsyncClient,
) -> None:
    resources = {r["type"]: r for r in (await client.get("metadata")).json()["rest"][0]["resource"]}

    def definitions(res_type: str) -> dict[str, str]:
        return {o["name"]: o["definition"] for o in resources[res_type]["operation"]}

    core = "http://hl7.org/fhir/OperationDefinition/"
    assert definitions("CodeSystem")["validate-code"] == core + "CodeSystem-validate-code"
    assert definitions("ValueSet")["validate-code"] == core + "ValueSet-validate-code"
    assert definitions("ValueSet")["expand"] == core + "ValueSet-expand"
    assert definitions("ConceptMap")["translate"] == core + "ConceptMap-translate"
    assert definitions("CodeSystem")["lookup"] == core + "CodeSystem-lookup"
    assert definitions("Patient")["everything"] == core + "Patient-everything"
    assert definitions("Observation")["validate"] == core + "Resource-validate"
