"""The terminology artefacts are stored resources: readable, searchable, published idempotently and versioned."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import httpx
from fastapi import FastAPI

from fhir_server.app import create_app
from fhir_server.services.terminology_loader import publish_terminology
from fhir_server.settings import Settings
from terminology import Terminology

TWIN_CS = "http://novamind.example.org/fhir/CodeSystem/twin-concepts"


async def test_code_systems_are_searchable_by_url(client: httpx.AsyncClient) -> None:
    bundle = (await client.get("CodeSystem", params={"url": "http://loinc.org"})).json()
    assert bundle["total"] == 1
    loinc = bundle["entry"][0]["resource"]
    assert (loinc["id"], loinc["content"]) == ("loinc", "fragment")
    assert "Regenstrief" in loinc["copyright"]


async def test_value_sets_are_searchable_by_name_version_and_status(client: httpx.AsyncClient) -> None:
    version = Terminology.load_default().content.value_sets[0].version
    params = {"name": "PHQGADAnswers", "version": version, "status": "active"}
    bundle = (await client.get("ValueSet", params=params)).json()
    assert [e["resource"]["id"] for e in bundle["entry"]] == ["phq-gad-answers"]


async def test_the_concept_map_is_readable(client: httpx.AsyncClient) -> None:
    r = await client.get("ConceptMap/icd10cm-to-snomed")
    assert r.status_code == 200
    assert r.json()["group"][0]["target"] == "http://snomed.info/sct"


async def test_our_own_code_system_is_published_under_the_canonical_base(client: httpx.AsyncClient) -> None:
    bundle = (await client.get("CodeSystem", params={"url": TWIN_CS})).json()
    assert bundle["entry"][0]["resource"]["content"] == "complete"


async def test_a_restart_writes_nothing(client: httpx.AsyncClient, settings: Settings) -> None:
    again = create_app(settings)
    async with again.router.lifespan_context(again):
        pass
    history = (await client.get("CodeSystem/loinc/_history")).json()
    assert history["total"] == 1
    assert (await client.get("CodeSystem/loinc")).json()["meta"]["versionId"] == "1"


async def test_new_content_replaces_the_old_and_keeps_it_in_history(app: FastAPI, client: httpx.AsyncClient) -> None:
    svc = app.state.services
    content = svc.terminology.content
    newer = Terminology(replace(content, value_sets=tuple(replace(vs, version="2099.1") for vs in content.value_sets)))
    report = await publish_terminology(newer, svc.repository, svc.resources, svc.registry)
    assert "ValueSet/phq-gad-answers" in report.written
    assert "CodeSystem/loinc" in report.unchanged
    current = (await client.get("ValueSet/phq-gad-answers")).json()
    assert (current["version"], current["meta"]["versionId"]) == ("2099.1", "2")
    assert (await client.get("ValueSet/phq-gad-answers/_history")).json()["total"] == 2


async def test_processes_publishing_at_the_same_time_publish_once(app: FastAPI, settings: Settings) -> None:
    other = create_app(settings)
    async with other.router.lifespan_context(other):
        processes = (app.state.services, other.state.services)
        content = app.state.services.terminology.content
        newer = Terminology(
            replace(content, code_systems=tuple(replace(cs, version="2099.1") for cs in content.code_systems))
        )
        reports = await asyncio.gather(
            *(publish_terminology(newer, s.repository, s.resources, s.registry) for s in processes)
        )
    assert sorted(len(r.written) for r in reports) == [0, 7]  # one wrote the seven code systems, one found them
    assert (await _stored_version(app, "CodeSystem/loinc")) == "2"


async def _stored_version(app: FastAPI, path: str) -> str:
    svc = app.state.services
    async with svc.repository.unit_of_work(write=False) as uow:
        res_type, res_id = path.split("/")
        stored = await uow.current(res_type, res_id)
    assert stored is not None
    return str(stored.version)
