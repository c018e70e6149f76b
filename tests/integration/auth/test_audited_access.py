"""Every access to patient data, every token issued and every refused request leaves an AuditEvent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from fhir_server.app import create_app
from fhir_server.auth.scopes import parse_scopes
from fhir_server.settings import Settings

BASE = "http://testserver/fhir"
OBSERVATION = {
    "resourceType": "Observation",
    "id": "o1",
    "status": "final",
    "code": {"text": "mood"},
    "subject": {"reference": "Patient/p1"},
}


@pytest.fixture
async def app(database_url: str, tmp_path: Path, keys_dir: Path) -> AsyncIterator[FastAPI]:
    settings = Settings(database_url=database_url, data_dir=tmp_path, keys_dir=keys_dir, public_base_url=BASE)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def _client(app: FastAPI, scope: str | None, *, patient: str | None = None) -> httpx.AsyncClient:
    headers = {}
    if scope:
        issued = await app.state.services.auth.issue_access_token(
            subject="tester", client_id="audit-test", scopes=parse_scopes(scope), patient=patient
        )
        headers["Authorization"] = f"Bearer {issued.token}"
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver", headers=headers)


async def _events(app: FastAPI, **params: str) -> list[dict[str, Any]]:
    await app.state.services.audit.flush()
    async with await _client(app, "system/AuditEvent.rs") as auditor:
        bundle = (await auditor.get("/fhir/AuditEvent", params={**params, "_count": "100"})).json()
    return [e["resource"] for e in bundle.get("entry", [])]


def _subtypes(events: list[dict[str, Any]]) -> list[str]:
    return [e["subtype"][0]["code"] for e in events if e.get("subtype")]


async def test_a_write_and_a_read_of_patient_data_are_audited_with_the_patient(app: FastAPI) -> None:
    async with await _client(app, "system/*.cruds") as http:
        assert (await http.put("/fhir/Patient/p1", json={"resourceType": "Patient", "id": "p1"})).status_code == 201
        assert (await http.put("/fhir/Observation/o1", json=OBSERVATION)).status_code == 201
        assert (await http.get("/fhir/Observation/o1")).status_code == 200
    events = await _events(app, patient="Patient/p1")
    assert {"update", "read"} <= set(_subtypes(events))
    read = next(e for e in events if _subtypes([e]) == ["read"])
    assert read["action"] == "R"
    assert read["outcome"] == "0"


async def test_a_search_is_audited_with_every_patient_it_served(app: FastAPI) -> None:
    async with await _client(app, "system/*.cruds") as http:
        for pid in ("p1", "p2"):
            await http.put(f"/fhir/Patient/{pid}", json={"resourceType": "Patient", "id": pid})
        assert (await http.get("/fhir/Patient")).status_code == 200
    assert "search-type" in _subtypes(await _events(app, patient="Patient/p2"))


async def test_a_refused_request_is_audited_as_a_failure(app: FastAPI) -> None:
    async with await _client(app, None) as anonymous:
        assert (await anonymous.get("/fhir/Patient/p1")).status_code == 401
    failures = await _events(app, outcome="4")
    assert any(_subtypes([e]) == ["read"] for e in failures)


async def test_a_forbidden_write_leaves_only_its_failure_in_the_trail(app: FastAPI) -> None:
    async with await _client(app, "system/*.cruds") as admin:
        await admin.put("/fhir/Patient/p1", json={"resourceType": "Patient", "id": "p1"})
        await admin.put("/fhir/Patient/p2", json={"resourceType": "Patient", "id": "p2"})
    async with await _client(app, "patient/*.cruds", patient="p1") as alice:
        moved = {**OBSERVATION, "id": "o9", "subject": {"reference": "Patient/p2"}}
        assert (await alice.put("/fhir/Observation/o9", json=moved)).status_code == 403
    events = await _events(app, entity="Observation/o9")
    assert events == [] or all(e["outcome"] != "0" for e in events)
    assert any(e["outcome"] == "4" for e in await _events(app, patient="Patient/p1"))


async def test_issued_and_refused_tokens_are_audited(app: FastAPI) -> None:
    async with await _client(app, None) as http:
        refused = await http.post(
            "/auth/token",
            content="grant_type=client_credentials&client_id=nobody",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert refused.status_code in (400, 401)
    token_events = [e for e in await _events(app, outcome="4") if e["type"]["code"] != "rest"]
    assert token_events, "the refused token request is in the trail"
