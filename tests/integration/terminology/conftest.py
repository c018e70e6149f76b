"""The real app on a real SQLite database, reached in process with a `system/*.cruds` token (the pattern of
tests/integration/server): the terminology is published by the app's own start-up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from fhir_server.app import create_app
from fhir_server.auth.scopes import parse_scopes
from fhir_server.settings import Settings

BASE = "http://testserver/fhir"
FULL_ACCESS = "system/*.cruds"


@pytest.fixture
def settings(database_url: str, tmp_path: Path, keys_dir: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        keys_dir=keys_dir,
        public_base_url=BASE,
        publish_terminology=True,
    )


async def token_for(app: FastAPI, scopes: str) -> str:
    issued = await app.state.services.auth.issue_access_token(
        subject="test-suite", client_id="test-suite", scopes=parse_scopes(scopes)
    )
    return str(issued.token)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {await token_for(app, FULL_ACCESS)}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE + "/", headers=headers) as c:
        yield c
