"""A patient-scoped token never reaches another patient's data, through any path of the FHIR API.

Two patients, Alice and Bob, each with observations, a condition and an encounter; Alice's app holds
`patient/*.cruds` for Alice. Every path the issue lists is tried against Bob's data: read, vread, history,
search (type, system, compartment), `_include`/`_revinclude`, chains, `_has`, `$everything`, batch and
transaction entries, later pages of a search someone else ran, and every write interaction.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from fhir_server.app import create_app
from fhir_server.auth.scopes import parse_scopes
from fhir_server.settings import Settings

BASE = "http://testserver/fhir"
LOINC = "http://loinc.org"
VITALS = "http://terminology.hl7.org/CodeSystem/observation-category|vital-signs"
LAB = "http://terminology.hl7.org/CodeSystem/observation-category|laboratory"


def _observation(oid: str, patient: str, code: str, category: str, **extra: Any) -> dict[str, Any]:
    system, _, cat = category.partition("|")
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [{"coding": [{"system": system, "code": cat}]}],
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": f"Patient/{patient}"},
        "valueQuantity": {"value": 70, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"},
        **extra,
    }


SEED: list[dict[str, Any]] = [
    {"resourceType": "Patient", "id": "alice", "name": [{"family": "Liddell", "given": ["Alice"]}]},
    {"resourceType": "Patient", "id": "bob", "name": [{"family": "Builder", "given": ["Bob"]}]},
    {"resourceType": "Practitioner", "id": "dr-who", "name": [{"family": "Who"}]},
    _observation("a-hr", "alice", "8867-4", VITALS, performer=[{"reference": "Practitioner/dr-who"}]),
    _observation("a-lab", "alice", "2345-7", LAB),
    # Alice's observation mentions Bob as a performer: includes and $everything must still not hand Bob out.
    _observation("a-odd", "alice", "8310-5", VITALS, performer=[{"reference": "Patient/bob"}]),
    _observation("b-hr", "bob", "8867-4", VITALS),
    _observation("b-secret", "bob", "11111-1", LAB),
    {
        "resourceType": "Condition",
        "id": "b-cond",
        "subject": {"reference": "Patient/bob"},
        "code": {"text": "Bob's diagnosis"},
    },
    {
        "resourceType": "Encounter",
        "id": "b-enc",
        "status": "finished",
        "class": {"code": "AMB"},
        "subject": {"reference": "Patient/bob"},
    },
]


@pytest.fixture
def settings(database_url: str, tmp_path: Path, keys_dir: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path, keys_dir=keys_dir, public_base_url=BASE)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def _client(app: FastAPI, scope: str, *, patient: str | None = None) -> httpx.AsyncClient:
    issued = await app.state.services.auth.issue_access_token(
        subject=f"test-{patient or 'system'}", client_id="isolation-test", scopes=parse_scopes(scope), patient=patient
    )
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=BASE + "/",
        headers={"Authorization": f"Bearer {issued.token}"},
    )


@pytest.fixture
async def admin(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with await _client(app, "system/*.cruds") as http:
        for resource in SEED:
            r = await http.put(f"{resource['resourceType']}/{resource['id']}", json=resource)
            assert r.status_code == 201, r.text
        yield http


@pytest.fixture
async def alice(app: FastAPI, admin: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    async with await _client(app, "patient/*.cruds", patient="alice") as http:
        yield http


def _ids(bundle: dict[str, Any]) -> set[str]:
    return {
        f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in bundle.get("entry", [])
        if e.get("resource", {}).get("resourceType") != "OperationOutcome"
    }


def _mentions_bob(bundle: dict[str, Any]) -> bool:
    return any(
        ref in _ids(bundle) for ref in ("Patient/bob", "Observation/b-hr", "Observation/b-secret", "Condition/b-cond")
    )


# ---- reads -----------------------------------------------------------------------------------------------


async def test_reading_own_record_works(alice: httpx.AsyncClient) -> None:
    assert (await alice.get("Patient/alice")).status_code == 200
    assert (await alice.get("Observation/a-hr")).status_code == 200


@pytest.mark.parametrize("path", ["Patient/bob", "Observation/b-hr", "Condition/b-cond", "Encounter/b-enc"])
async def test_reading_another_patients_resource_is_not_found(alice: httpx.AsyncClient, path: str) -> None:
    r = await alice.get(path)
    assert r.status_code == 404
    assert r.json()["resourceType"] == "OperationOutcome"


async def test_hidden_and_missing_resources_look_the_same(alice: httpx.AsyncClient) -> None:
    hidden = (await alice.get("Observation/b-hr")).json()["issue"][0]["diagnostics"]
    missing = (await alice.get("Observation/no-such")).json()["issue"][0]["diagnostics"]
    assert hidden.replace("b-hr", "X") == missing.replace("no-such", "X")


async def test_vread_and_instance_history_of_another_patient_are_not_found(alice: httpx.AsyncClient) -> None:
    assert (await alice.get("Observation/b-hr/_history/1")).status_code == 404
    assert (await alice.get("Observation/b-hr/_history")).status_code == 404


async def test_resources_outside_every_compartment_are_not_readable(alice: httpx.AsyncClient) -> None:
    assert (await alice.get("Practitioner/dr-who")).status_code == 404


# ---- searches --------------------------------------------------------------------------------------------


async def test_type_search_returns_only_own_resources(alice: httpx.AsyncClient) -> None:
    bundle = (await alice.get("Observation")).json()
    assert _ids(bundle) == {"Observation/a-hr", "Observation/a-lab", "Observation/a-odd"}
    assert bundle["total"] == 3


async def test_searching_for_another_patient_finds_nothing(alice: httpx.AsyncClient) -> None:
    assert _ids((await alice.get("Observation", params={"subject": "Patient/bob"})).json()) == set()
    assert _ids((await alice.get("Patient", params={"name": "Builder"})).json()) == set()
    assert _ids((await alice.get("Patient")).json()) == {"Patient/alice"}


async def test_summary_count_counts_only_own_resources(alice: httpx.AsyncClient) -> None:
    assert (await alice.get("Observation", params={"_summary": "count"})).json()["total"] == 3


async def test_compartment_search_of_another_patient_shows_only_what_is_also_in_own(alice: httpx.AsyncClient) -> None:
    # a-odd names Bob as performer, so it is in both compartments; Bob's own observations stay hidden.
    assert _ids((await alice.get("Patient/bob/Observation")).json()) == {"Observation/a-odd"}


async def test_system_search_is_confined(alice: httpx.AsyncClient) -> None:
    bundle = (await alice.get("", params={"_type": "Observation,Condition,Patient"})).json()
    assert not _mentions_bob(bundle)
    assert "Observation/a-hr" in _ids(bundle)


async def test_include_does_not_pull_in_another_patient(alice: httpx.AsyncClient) -> None:
    bundle = (await alice.get("Observation", params={"_id": "a-odd", "_include": "Observation:performer"})).json()
    assert _ids(bundle) == {"Observation/a-odd"}


async def test_include_of_own_patient_works(alice: httpx.AsyncClient) -> None:
    bundle = (await alice.get("Observation", params={"_id": "a-hr", "_include": "Observation:subject"})).json()
    assert _ids(bundle) == {"Observation/a-hr", "Patient/alice"}


async def test_revinclude_returns_only_own_resources(alice: httpx.AsyncClient) -> None:
    bundle = (await alice.get("Patient", params={"_revinclude": "Observation:subject"})).json()
    assert _ids(bundle) == {"Patient/alice", "Observation/a-hr", "Observation/a-lab", "Observation/a-odd"}


async def test_chained_search_cannot_reach_another_patient(alice: httpx.AsyncClient) -> None:
    bundle = (await alice.get("Observation", params={"subject:Patient.name": "Builder"})).json()
    assert _ids(bundle) == set()


async def test_has_search_cannot_probe_another_patient(alice: httpx.AsyncClient) -> None:
    bundle = (await alice.get("Patient", params={"_has:Observation:subject:code": f"{LOINC}|11111-1"})).json()
    assert _ids(bundle) == set()


async def test_later_pages_of_someone_elses_search_are_reauthorized(
    alice: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    first = (await admin.get("Observation", params={"_count": "2", "_sort": "_id"})).json()
    next_url = next(link["url"] for link in first["link"] if link["relation"] == "next")
    page = (await alice.get(next_url)).json()
    assert not _mentions_bob(page)


async def test_type_history_shows_only_own_versions(alice: httpx.AsyncClient) -> None:
    bundle = (await alice.get("Observation/_history")).json()
    assert {e["fullUrl"].rsplit("/", 1)[-1] for e in bundle["entry"]} <= {"a-hr", "a-lab", "a-odd"}
    assert bundle["total"] == 3


async def test_system_history_shows_only_own_versions(alice: httpx.AsyncClient) -> None:
    bundle = (await alice.get("_history")).json()
    ids = {e["fullUrl"].split("/fhir/")[1] for e in bundle["entry"]}
    assert ids == {"Patient/alice", "Observation/a-hr", "Observation/a-lab", "Observation/a-odd"}


# ---- $everything -----------------------------------------------------------------------------------------


async def test_everything_of_another_patient_is_not_found(alice: httpx.AsyncClient) -> None:
    assert (await alice.get("Patient/bob/$everything")).status_code == 404


async def test_everything_of_own_record_leaves_out_referenced_other_patients(alice: httpx.AsyncClient) -> None:
    bundle = (await alice.get("Patient/alice/$everything")).json()
    assert "Observation/a-odd" in _ids(bundle)
    assert not _mentions_bob(bundle)
    assert "Practitioner/dr-who" not in _ids(bundle)


# ---- writes ----------------------------------------------------------------------------------------------


async def test_creating_data_for_another_patient_is_forbidden_and_leaves_nothing(
    alice: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    body = _observation("x", "bob", "8867-4", VITALS)
    del body["id"]
    r = await alice.post("Observation", json=body)
    assert r.status_code == 403
    assert r.headers["www-authenticate"].startswith('Bearer error="insufficient_scope"')
    assert (await admin.get("Observation", params={"subject": "Patient/bob"})).json()["total"] == 2


async def test_creating_own_data_works(alice: httpx.AsyncClient) -> None:
    body = _observation("x", "alice", "8867-4", VITALS)
    del body["id"]
    assert (await alice.post("Observation", json=body)).status_code == 201


async def test_updating_another_patients_resource_is_not_found(alice: httpx.AsyncClient) -> None:
    r = await alice.put("Observation/b-hr", json=_observation("b-hr", "alice", "8867-4", VITALS))
    assert r.status_code == 404


async def test_moving_own_resource_to_another_patient_is_forbidden(
    alice: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    r = await alice.put("Observation/a-hr", json=_observation("a-hr", "bob", "8867-4", VITALS))
    assert r.status_code == 403
    stored = (await admin.get("Observation/a-hr")).json()
    assert stored["subject"]["reference"] == "Patient/alice"


async def test_patching_another_patients_resource_is_not_found(alice: httpx.AsyncClient) -> None:
    r = await alice.patch(
        "Observation/b-hr",
        content=orjson.dumps([{"op": "replace", "path": "/status", "value": "amended"}]),
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert r.status_code == 404


async def test_deleting_another_patients_resource_changes_nothing(
    alice: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    assert (await alice.delete("Observation/b-hr")).status_code == 204
    assert (await admin.get("Observation/b-hr")).status_code == 200


async def test_conditional_delete_cannot_reach_another_patient(
    alice: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    await alice.delete("Observation", params={"code": f"{LOINC}|11111-1"})
    assert (await admin.get("Observation/b-secret")).status_code == 200


async def test_conditional_update_cannot_match_another_patients_resource(
    alice: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    body = _observation("ignored", "alice", "11111-1", LAB)
    del body["id"]
    r = await alice.put("Observation", params={"code": f"{LOINC}|11111-1"}, json=body)
    assert r.status_code == 201  # no visible match: a new resource of Alice's, Bob's is untouched
    assert (await admin.get("Observation/b-secret")).json()["subject"]["reference"] == "Patient/bob"


# ---- bundles ---------------------------------------------------------------------------------------------


async def test_batch_entries_are_authorized_one_by_one(alice: httpx.AsyncClient) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "GET", "url": "Observation/b-hr"}},
            {"request": {"method": "GET", "url": "Observation/a-hr"}},
            {"request": {"method": "GET", "url": "Observation?subject=Patient/bob"}},
        ],
    }
    result = (await alice.post("", json=bundle)).json()
    statuses = [e["response"]["status"] for e in result["entry"]]
    assert statuses[0].startswith("404")
    assert statuses[1].startswith("200")
    assert _ids(result["entry"][2]["resource"]) == set()


async def test_transaction_writing_another_patients_data_fails_whole(
    alice: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    own = _observation("t-own", "alice", "8867-4", VITALS)
    theirs = _observation("t-theirs", "bob", "8867-4", VITALS)
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": own, "request": {"method": "PUT", "url": "Observation/t-own"}},
            {"resource": theirs, "request": {"method": "PUT", "url": "Observation/t-theirs"}},
        ],
    }
    assert (await alice.post("", json=bundle)).status_code == 403
    assert (await admin.get("Observation/t-own")).status_code == 404


async def test_transaction_patch_entry_of_another_patient_is_not_found(alice: httpx.AsyncClient) -> None:
    patch = base64.b64encode(orjson.dumps([{"op": "replace", "path": "/status", "value": "amended"}])).decode()
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {"resourceType": "Binary", "contentType": "application/json-patch+json", "data": patch},
                "request": {"method": "PATCH", "url": "Observation/b-hr"},
            }
        ],
    }
    assert (await alice.post("", json=bundle)).status_code == 404


# ---- audit trail and tokens ------------------------------------------------------------------------------


async def test_patient_scopes_never_reach_the_audit_trail(alice: httpx.AsyncClient) -> None:
    assert (await alice.get("AuditEvent")).status_code == 403


async def test_query_scopes_filter_reads_and_searches(app: FastAPI, admin: httpx.AsyncClient) -> None:
    async with await _client(app, f"patient/Observation.rs?category={VITALS}", patient="alice") as vitals:
        assert _ids((await vitals.get("Observation")).json()) == {"Observation/a-hr", "Observation/a-odd"}
        assert (await vitals.get("Observation/a-lab")).status_code == 404
        assert (await vitals.get("Patient/alice")).status_code == 403


async def test_read_only_scopes_cannot_write(app: FastAPI, admin: httpx.AsyncClient) -> None:
    async with await _client(app, "patient/*.rs", patient="alice") as reader:
        r = await reader.put("Observation/a-hr", json=_observation("a-hr", "alice", "8867-4", VITALS))
        assert r.status_code == 403


async def test_has_cannot_probe_observations_outside_a_query_scope(app: FastAPI, admin: httpx.AsyncClient) -> None:
    scope = f"patient/Patient.rs patient/Observation.rs?category={VITALS}"
    async with await _client(app, scope, patient="alice") as vitals:
        lab = {"_has:Observation:subject:code": f"{LOINC}|2345-7"}  # Alice's lab result, out of this scope
        assert _ids((await vitals.get("Patient", params=lab)).json()) == set()
        heart = {"_has:Observation:subject:code": f"{LOINC}|8867-4"}
        assert _ids((await vitals.get("Patient", params=heart)).json()) == {"Patient/alice"}


async def test_chains_cannot_probe_types_outside_the_scopes(app: FastAPI, admin: httpx.AsyncClient) -> None:
    async with await _client(app, "patient/Observation.rs", patient="alice") as observations_only:
        r = await observations_only.get("Observation", params={"subject:Patient.name": "Liddell"})
        assert r.status_code == 403
