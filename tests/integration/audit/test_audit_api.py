"""GET /fhir/AuditEvent[/{id}]: audit-scoped tokens only; search parameters; every write refused with 405."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from fhir_server.app import create_app
from fhir_server.audit.records import AuditKind, AuditOutcome, AuditRecord
from fhir_server.audit.trail import AuditTrail
from fhir_server.auth.roles import Role
from fhir_server.auth.scopes import parse_scopes
from fhir_server.settings import Settings

from .conftest import read_of

BASE = "http://testserver/fhir"
T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
async def app(database_url: str, tmp_path) -> AsyncIterator[FastAPI]:
    app = create_app(Settings(database_url=database_url, public_base_url=BASE, keys_dir=tmp_path / "keys"))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
def trail(app: FastAPI) -> AuditTrail:
    return app.state.services.audit  # type: ignore[no-any-return]


async def _token(app: FastAPI, scope: str, *, patient: str | None = None, role: Role | None = None) -> str:
    issued = await app.state.services.auth.issue_access_token(
        subject="auditor", client_id="audit-console", scopes=parse_scopes(scope), patient=patient, role=role
    )
    return str(issued.token)


@pytest.fixture
async def auditor(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    token = await _token(app, "system/AuditEvent.rs")
    async with _client(app, token) as http:
        yield http


def _client(app: FastAPI, token: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE + "/", headers=headers)


async def _seed(trail: AuditTrail) -> None:
    """Three events an hour apart: p1 read by dr.rivera, p2 read by nurse.kim, p1 updated (a failure)."""
    trail.record(_at(read_of("p1"), 0))
    trail.record(_at(read_of("p2", subject="nurse.kim", client_id="ward-app"), 1))
    failed_update = AuditRecord(
        kind=AuditKind.REST,
        action="U",
        interaction="update",
        outcome=AuditOutcome.MINOR_FAILURE,
        client_id="chart-app",
        subject="dr.rivera",
        fhir_user="Practitioner/p1",
        patients=("p1",),
        entities=("Condition/c1",),
        recorded=T0 + timedelta(hours=2),
    )
    trail.record(failed_update)
    await trail.flush()


def _at(record: AuditRecord, hours: int) -> AuditRecord:
    from dataclasses import replace

    return replace(record, recorded=T0 + timedelta(hours=hours))


def _ids(bundle: dict) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", [])]


async def _search(http: httpx.AsyncClient, query: str) -> dict:
    response = await http.get(f"AuditEvent?{query}")
    assert response.status_code == 200, response.text
    return response.json()


async def test_search_returns_events_newest_first(auditor: httpx.AsyncClient, trail: AuditTrail) -> None:
    await _seed(trail)
    bundle = await _search(auditor, "")
    assert bundle["type"] == "searchset"
    assert _ids(bundle) == ["3", "2", "1"]


async def test_read_returns_the_event_with_its_id(auditor: httpx.AsyncClient, trail: AuditTrail) -> None:
    await _seed(trail)
    response = await auditor.get("AuditEvent/2")
    assert response.status_code == 200
    event = response.json()
    assert (event["resourceType"], event["id"]) == ("AuditEvent", "2")
    assert event["entity"][0]["what"]["reference"] == "Patient/p2"


async def test_read_of_an_unknown_event_is_404(auditor: httpx.AsyncClient, trail: AuditTrail) -> None:
    assert (await auditor.get("AuditEvent/999")).status_code == 404
    assert (await auditor.get("AuditEvent/not-a-number")).status_code == 404


async def test_search_parameters_filter_the_bundle(auditor: httpx.AsyncClient, trail: AuditTrail) -> None:
    # The parameters themselves are specified in test_audit_search.py; here, that the API applies them.
    await _seed(trail)
    assert _ids(await _search(auditor, "patient=p1&action=R")) == ["1"]


async def test_an_unsupported_parameter_is_400(auditor: httpx.AsyncClient) -> None:
    response = await auditor.get("AuditEvent?code=x")
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


async def test_pages_follow_next_links_until_the_last_page(auditor: httpx.AsyncClient, trail: AuditTrail) -> None:
    for i in range(5):
        trail.record(read_of(f"p{i}"))
    await trail.flush()
    seen: list[str] = []
    url: str | None = f"{BASE}/AuditEvent?_count=2"
    while url:
        bundle = (await auditor.get(url)).json()
        seen.extend(_ids(bundle))
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
    assert seen == ["5", "4", "3", "2", "1"]


async def test_search_by_post(auditor: httpx.AsyncClient, trail: AuditTrail) -> None:
    await _seed(trail)
    response = await auditor.post(
        "AuditEvent/_search", content="patient=p2", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert _ids(response.json()) == ["2"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "AuditEvent"),
        ("PUT", "AuditEvent/1"),
        ("PATCH", "AuditEvent/1"),
        ("DELETE", "AuditEvent/1"),
        ("DELETE", "AuditEvent"),
    ],
)
async def test_writes_are_refused_with_405(auditor: httpx.AsyncClient, method: str, path: str) -> None:
    response = await auditor.request(method, path, json={"resourceType": "AuditEvent"})
    assert response.status_code == 405
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "written by the server only" in outcome["issue"][0]["diagnostics"]


async def test_no_token_is_401(app: FastAPI) -> None:
    async with _client(app, None) as http:
        response = await http.get("AuditEvent")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("scope", "role"),
    [
        ("system/*.rs", None),
        ("user/*.rs", Role.CLINICAL_ADMIN),
        ("user/AuditEvent.rs", Role.PSYCHIATRIST),
        ("system/Observation.rs", None),
    ],
)
async def test_a_token_without_an_explicit_audit_grant_is_403(app: FastAPI, scope: str, role: Role | None) -> None:
    async with _client(app, await _token(app, scope, role=role)) as http:
        assert (await http.get("AuditEvent")).status_code == 403
        assert (await http.get("AuditEvent/1")).status_code == 403


async def test_patient_scopes_never_reach_audit_events(app: FastAPI) -> None:
    token = await _token(app, "patient/AuditEvent.rs patient/Patient.rs", patient="p1")
    async with _client(app, token) as http:
        assert (await http.get("AuditEvent?patient=p1")).status_code == 403


async def test_a_clinical_admin_with_a_user_audit_scope_may_search(app: FastAPI, trail: AuditTrail) -> None:
    await _seed(trail)
    async with _client(app, await _token(app, "user/AuditEvent.rs", role=Role.CLINICAL_ADMIN)) as http:
        assert _ids(await _search(http, "patient=p2")) == ["2"]


async def test_reading_the_audit_trail_is_itself_audited(auditor: httpx.AsyncClient, trail: AuditTrail) -> None:
    await _seed(trail)
    await auditor.get("AuditEvent?patient=p2")
    await trail.flush()
    newest = (await _search(auditor, "altid=auditor&subtype=search-type"))["entry"][0]["resource"]
    query = next(e for e in newest["entity"] if e["role"]["code"] == "24")
    assert base64.b64decode(query["query"]).decode() == "patient=p2"
    client = next(a for a in newest["agent"] if a["type"]["coding"][0]["code"] == "110153")
    assert client["who"]["identifier"]["value"] == "audit-console"


async def test_an_event_has_one_version(auditor: httpx.AsyncClient, trail: AuditTrail) -> None:
    await _seed(trail)
    assert (await auditor.get("AuditEvent/1/_history/1")).json()["id"] == "1"
    assert (await auditor.get("AuditEvent/1/_history/2")).status_code == 404
    history = (await auditor.get("AuditEvent/1/_history")).json()
    assert (history["type"], _ids(history)) == ("history", ["1"])


async def test_type_history_is_not_supported(auditor: httpx.AsyncClient) -> None:
    assert (await auditor.get("AuditEvent/_history")).status_code == 400


async def test_a_query_restricted_audit_grant_sees_only_what_its_query_admits(app: FastAPI, trail: AuditTrail) -> None:
    await _seed(trail)
    async with _client(app, await _token(app, "system/AuditEvent.rs?patient=p2")) as http:
        assert _ids(await _search(http, "")) == ["2"]
        assert (await http.get("AuditEvent/1")).status_code == 404
        assert (await http.get("AuditEvent/2")).status_code == 200
