"""The resource server refuses requests without a valid token and holds `user/` and `system/` scopes to
what they grant (patient isolation has its own file: test_isolation_patient.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from jose import jwt

from fhir_server.app import create_app
from fhir_server.auth.keys import generate_key
from fhir_server.auth.roles import Role
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
def settings(database_url: str, tmp_path: Path, keys_dir: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path, keys_dir=keys_dir, public_base_url=BASE)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        async with await _client(application, "system/*.cruds") as admin:
            assert (await admin.put("Patient/p1", json={"resourceType": "Patient", "id": "p1"})).status_code == 201
            assert (await admin.put("Observation/o1", json=OBSERVATION)).status_code == 201
        yield application


async def _token(app: FastAPI, scope: str, *, role: Role | None = None, lifetime: timedelta | None = None) -> str:
    issued = await app.state.services.auth.issue_access_token(
        subject="someone", client_id="enforcement-test", scopes=parse_scopes(scope), role=role, lifetime=lifetime
    )
    return issued.token


async def _client(app: FastAPI, scope: str | None = None, *, role: Role | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {await _token(app, scope, role=role)}"} if scope else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE + "/", headers=headers)


def _anonymous(app: FastAPI, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE + "/", headers=headers or {})


# ---- authentication ----------------------------------------------------------------------------------------


async def test_a_request_without_token_is_401_with_a_bearer_challenge(app: FastAPI) -> None:
    async with _anonymous(app) as http:
        r = await http.get("Patient/p1")
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert r.json()["resourceType"] == "OperationOutcome"


async def test_the_capability_statement_is_public(app: FastAPI) -> None:
    async with _anonymous(app) as http:
        assert (await http.get("metadata")).status_code == 200


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer not-a-jwt", "Token abc"])
async def test_malformed_authorization_headers_are_401(app: FastAPI, header: str) -> None:
    async with _anonymous(app, {"Authorization": header}) as http:
        assert (await http.get("Patient/p1")).status_code == 401


async def test_a_token_signed_by_someone_else_is_401(app: FastAPI) -> None:
    genuine = await _token(app, "system/*.rs")
    claims = jwt.get_unverified_claims(genuine)
    header = jwt.get_unverified_header(genuine)
    forger_key = generate_key("RS384", rsa_bits=2048)
    from cryptography.hazmat.primitives import serialization

    pem = forger_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    forged = jwt.encode(claims, pem, algorithm="RS384", headers={"kid": header["kid"], "typ": "at+jwt"})
    async with _anonymous(app, {"Authorization": f"Bearer {forged}"}) as http:
        assert (await http.get("Patient/p1")).status_code == 401


async def test_an_expired_token_is_401(app: FastAPI) -> None:
    expired = await _token(app, "system/*.rs", lifetime=timedelta(seconds=-5))
    async with _anonymous(app, {"Authorization": f"Bearer {expired}"}) as http:
        r = await http.get("Patient/p1")
    assert r.status_code == 401
    assert "expired" in r.json()["issue"][0]["diagnostics"]


async def test_a_revoked_token_is_refused_at_once(app: FastAPI) -> None:
    token = await _token(app, "system/*.rs")
    async with _anonymous(app, {"Authorization": f"Bearer {token}"}) as http:
        assert (await http.get("Patient/p1")).status_code == 200
        await app.state.services.auth.store.revoke_access_token(jwt.get_unverified_claims(token)["jti"])
        assert (await http.get("Patient/p1")).status_code == 401


# ---- system/ scopes ----------------------------------------------------------------------------------------


async def test_a_type_scope_does_not_reach_other_types(app: FastAPI) -> None:
    async with await _client(app, "system/Observation.rs") as http:
        assert (await http.get("Observation/o1")).status_code == 200
        r = await http.get("Patient/p1")
    assert r.status_code == 403
    assert r.headers["www-authenticate"].startswith('Bearer error="insufficient_scope"')


async def test_search_without_the_s_letter_is_403(app: FastAPI) -> None:
    async with await _client(app, "system/Observation.r") as http:
        assert (await http.get("Observation/o1")).status_code == 200
        assert (await http.get("Observation")).status_code == 403


async def test_read_scopes_cannot_create(app: FastAPI) -> None:
    async with await _client(app, "system/*.rs") as http:
        r = await http.post("Patient", json={"resourceType": "Patient"})
    assert r.status_code == 403


async def test_validate_needs_only_some_grant_on_the_type(app: FastAPI) -> None:
    async with await _client(app, "system/Patient.r") as http:
        assert (await http.post("Patient/$validate", json={"resourceType": "Patient"})).status_code == 200
        assert (await http.post("Observation/$validate", json=OBSERVATION)).status_code == 403


async def test_a_wildcard_scope_never_reaches_the_audit_trail(app: FastAPI) -> None:
    async with await _client(app, "system/*.cruds") as http:
        assert (await http.get("AuditEvent")).status_code == 403


# ---- user/ scopes intersected with roles -------------------------------------------------------------------


async def test_a_researcher_reads_observations_but_not_demographics(app: FastAPI) -> None:
    async with await _client(app, "user/*.cruds", role=Role.RESEARCHER) as http:
        assert (await http.get("Observation/o1")).status_code == 200
        assert (await http.get("Patient/p1")).status_code == 403
        assert (await http.put("Observation/o1", json=OBSERVATION)).status_code == 403


async def test_a_clinical_admin_sees_demographics_but_not_observations(app: FastAPI) -> None:
    async with await _client(app, "user/*.cruds", role=Role.CLINICAL_ADMIN) as http:
        assert (await http.get("Patient/p1")).status_code == 200
        assert (await http.get("Observation/o1")).status_code == 403


async def test_a_nurse_practitioner_cannot_delete(app: FastAPI) -> None:
    async with await _client(app, "user/*.cruds", role=Role.NURSE_PRACTITIONER) as http:
        assert (await http.put("Observation/o1", json=OBSERVATION)).status_code == 200
        assert (await http.delete("Observation/o1")).status_code == 403


async def test_user_scopes_without_a_role_grant_nothing(app: FastAPI) -> None:
    async with await _client(app, "user/*.cruds") as http:
        assert (await http.get("Observation/o1")).status_code == 403


async def test_user_scopes_are_cut_to_the_scope_not_just_the_role(app: FastAPI) -> None:
    async with await _client(app, "user/Observation.rs", role=Role.PSYCHIATRIST) as http:
        assert (await http.get("Observation/o1")).status_code == 200
        assert (await http.get("Patient/p1")).status_code == 403


# ---- development mode --------------------------------------------------------------------------------------


async def test_no_auth_mode_serves_without_tokens(database_url: str, tmp_path: Path, keys_dir: Path) -> None:
    settings = Settings(database_url=database_url, data_dir=tmp_path, keys_dir=keys_dir, insecure_no_auth=True)
    application = create_app(settings)
    async with application.router.lifespan_context(application), _anonymous(application) as http:
        assert (await http.post("Patient", json={"resourceType": "Patient"})).status_code == 201


def test_no_auth_mode_refuses_a_non_loopback_host(tmp_path: Path, keys_dir: Path) -> None:
    settings = Settings(host="0.0.0.0", data_dir=tmp_path, keys_dir=keys_dir, insecure_no_auth=True)
    with pytest.raises(ValueError, match="loopback"):
        create_app(settings)
