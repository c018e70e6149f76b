"""An in-process server (the real app, the real database) reached through httpx's ASGI transport.

Requests carry a real access token, signed and recorded by the app's own authorization server, with
`system/*.cruds`: the interaction tests here exercise the resource server's authorization path on every
request; what narrower tokens may not do is specified in tests/integration/auth.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from fhir_server.app import create_app
from fhir_server.auth.scopes import parse_scopes
from fhir_server.settings import Settings

BASE = "http://testserver/fhir"
FULL_ACCESS = "system/*.cruds"


@pytest.fixture
def settings(database_url: str, tmp_path: Path, keys_dir: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path, keys_dir=keys_dir, public_base_url=BASE)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        issued = await app.state.services.auth.issue_access_token(
            subject="test-suite", client_id="test-suite", scopes=parse_scopes(FULL_ACCESS)
        )
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {issued.token}"}
        async with httpx.AsyncClient(transport=transport, base_url=BASE + "/", headers=headers) as http:
            yield http
