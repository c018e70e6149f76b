"""Minting EHR launch handles: `POST /auth/launch` for an authenticated EHR, and `novamind launch`."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from fhir_server.app import create_app
from fhir_server.auth.components import AuthComponents, build_auth_components
from fhir_server.auth.records import Client, ClientKind, LaunchContext, User
from fhir_server.auth.roles import Role
from fhir_server.auth.scopes import parse_scopes
from fhir_server.cli import main
from fhir_server.settings import Settings
from fhir_server.storage.db import create_engine

AUD = "http://testserver/fhir"
REDIRECT = "https://app.example/callback"
APP_SCOPE = "launch openid fhirUser patient/*.rs"


def settings_in(directory: Path, keys_dir: Path) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{directory / 'launch.sqlite3'}",
        data_dir=directory,
        keys_dir=keys_dir,
        public_base_url=AUD,
    )


async def seed(settings: Settings) -> None:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        store = application.state.services.auth.store
        await store.add_client(Client("app", "Mood Tracker", ClientKind.PUBLIC, (REDIRECT,), APP_SCOPE))
        await store.add_client(
            Client("ehr", "The EHR", ClientKind.SYMMETRIC, (), "system/*.rs", can_launch=True), secret="e" * 32
        )
        await store.add_client(Client("plain", "Not an EHR", ClientKind.SYMMETRIC, (), "system/*.rs"), secret="p" * 32)
        await store.add_user(User("dr", "Dr Who", role=Role.PSYCHIATRIST), "dr-password")
        async with application.state.services.repository.unit_of_work() as uow:
            await uow.save("Patient", "p1", {"resourceType": "Patient"}, current=None, method="PUT")
            encounter = {"resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"}}
            await uow.save("Encounter", "e1", encounter, current=None, method="PUT")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A seeded database and key directory made once (slow keys and password hashes), copied per test."""
    keys_dir = tmp_path_factory.mktemp("keys")
    directory = tmp_path_factory.mktemp("seed")
    asyncio.run(seed(settings_in(directory, keys_dir)))
    return directory / "launch.sqlite3", keys_dir


@pytest.fixture
def settings(tmp_path: Path, seeded: tuple[Path, Path]) -> Settings:
    database, keys_dir = seeded
    shutil.copy(database, tmp_path / "launch.sqlite3")
    return settings_in(tmp_path, keys_dir)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def auth(app: FastAPI) -> AuthComponents:
    components: AuthComponents = app.state.services.auth
    return components


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


async def token_for(auth: AuthComponents, client_id: str) -> str:
    issued = await auth.issue_access_token(subject=client_id, client_id=client_id, scopes=parse_scopes("system/*.rs"))
    return issued.token


async def mint(http: httpx.AsyncClient, token: str | None, body: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await http.post("/auth/launch", json=body, headers=headers)


async def test_ehr_client_mints_a_handle(http: httpx.AsyncClient, auth: AuthComponents) -> None:
    response = await mint(http, await token_for(auth, "ehr"), {"client_id": "app", "patient": "p1"})
    assert response.status_code == 201
    body = response.json()
    assert body["expires_in"] == 300
    assert response.headers["cache-control"] == "no-store"
    assert await auth.store.take_launch(body["launch"], "app") == (None, LaunchContext(patient="p1"))


async def test_handle_carries_user_encounter_and_fhir_context(http: httpx.AsyncClient, auth: AuthComponents) -> None:
    body = {
        "client_id": "app",
        "username": "dr",
        "patient": "p1",
        "encounter": "e1",
        "fhirContext": [{"reference": "Observation/o1"}, {"canonical": "http://x.org/Questionnaire/phq9"}],
        "need_patient_banner": False,
        "intent": "reconcile-medications",
    }
    response = await mint(http, await token_for(auth, "ehr"), body)
    assert response.status_code == 201, response.text
    username, context = await auth.store.take_launch(response.json()["launch"], "app") or (None, None)
    assert username == "dr"
    assert context == LaunchContext(
        patient="p1",
        encounter="e1",
        fhir_context=({"reference": "Observation/o1"}, {"canonical": "http://x.org/Questionnaire/phq9"}),
        need_patient_banner=False,
        intent="reconcile-medications",
    )


async def test_handle_is_bound_to_the_client_it_was_minted_for(http: httpx.AsyncClient, auth: AuthComponents) -> None:
    response = await mint(http, await token_for(auth, "ehr"), {"client_id": "app"})
    assert await auth.store.take_launch(response.json()["launch"], "ehr") is None


async def test_no_token_is_401_with_a_bearer_challenge(http: httpx.AsyncClient) -> None:
    response = await mint(http, None, {"client_id": "app"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"] == "invalid_token"


async def test_token_we_did_not_sign_is_401(http: httpx.AsyncClient) -> None:
    response = await mint(http, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJlaHIifQ.", {"client_id": "app"})
    assert response.status_code == 401


async def test_revoked_token_is_401(http: httpx.AsyncClient, auth: AuthComponents) -> None:
    token = await token_for(auth, "ehr")
    await auth.store.revoke_access_token(auth.tokens.verify(token).jti)
    assert (await mint(http, token, {"client_id": "app"})).status_code == 401


async def test_client_not_registered_to_launch_is_403(http: httpx.AsyncClient, auth: AuthComponents) -> None:
    response = await mint(http, await token_for(auth, "plain"), {"client_id": "app"})
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"


@pytest.mark.parametrize(
    "body",
    [
        {"patient": "p1"},
        {"client_id": "nobody"},
        {"client_id": "app", "username": "nobody"},
        {"client_id": "app", "patient": "p404"},
        {"client_id": "app", "encounter": "e404"},
        {"client_id": "app", "patient": "not an id!"},
        {"client_id": "app", "fhirContext": {"reference": "Observation/o1"}},
        {"client_id": "app", "fhirContext": [{"display": "no reference"}]},
        {"client_id": "app", "need_patient_banner": "yes"},
        {"client_id": "app", "surprise": 1},
        ["client_id", "app"],
    ],
)
async def test_malformed_or_unknown_launch_is_400(http: httpx.AsyncClient, auth: AuthComponents, body: Any) -> None:
    response = await mint(http, await token_for(auth, "ehr"), body)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_body_that_is_not_json_is_400(http: httpx.AsyncClient, auth: AuthComponents) -> None:
    headers = {"Authorization": f"Bearer {await token_for(auth, 'ehr')}"}
    response = await http.post("/auth/launch", content=b"client_id=app", headers=headers)
    assert response.status_code == 400


async def test_minted_handle_is_accepted_by_the_authorization_endpoint(
    http: httpx.AsyncClient, auth: AuthComponents
) -> None:
    handle = (await mint(http, await token_for(auth, "ehr"), {"client_id": "app", "patient": "p1"})).json()["launch"]
    params = {
        "response_type": "code",
        "client_id": "app",
        "redirect_uri": REDIRECT,
        "scope": "launch patient/*.rs",
        "state": "s",
        "aud": AUD,
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
        "launch": handle,
    }
    response = await http.get("/auth/authorize", params=params)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/auth/login?")


def test_cli_prints_a_handle_minted_through_the_store(
    settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOVAMIND_KEYS_DIR", str(settings.keys_dir))
    data_dir = str(settings.data_dir)
    args = ["launch", "--client-id", "app", "--patient", "p1", "--user", "dr", "--data-dir", data_dir]
    args += ["--database-url", str(settings.database_url)]
    assert main(args) == 0
    handle = capsys.readouterr().out.strip()

    async def take() -> Any:
        engine = create_engine(settings.resolved_database_url())
        try:
            return await build_auth_components(settings, engine).store.take_launch(handle, "app")
        finally:
            await engine.dispose()

    assert asyncio.run(take()) == ("dr", LaunchContext(patient="p1"))


def test_cli_refuses_an_unknown_client(
    settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOVAMIND_KEYS_DIR", str(settings.keys_dir))
    args = ["launch", "--client-id", "nobody", "--database-url", str(settings.database_url)]
    assert main(args) == 2
    assert "not a registered client" in capsys.readouterr().err
