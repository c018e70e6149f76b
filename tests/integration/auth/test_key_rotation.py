"""`novamind keys rotate` while a server runs: new tokens use the new key at once, old tokens keep working
until the old key retires, and then they stop."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from jose import jwt

from fhir_server.app import create_app
from fhir_server.auth.scopes import parse_scopes
from fhir_server.cli import main
from fhir_server.settings import Settings

BASE = "http://testserver/fhir"


async def _token(app: object) -> str:
    issued = await app.state.services.auth.issue_access_token(  # type: ignore[attr-defined]
        subject="rotation-test", client_id="rotation-test", scopes=parse_scopes("system/*.rs")
    )
    return issued.token


async def _rotate(data_dir: Path, *, retire_after: int) -> int:
    """The CLI, as an administrator runs it beside the server (its own event loop, hence a thread)."""
    argv = ["keys", "rotate", "--alg", "RS384", "--retire-after", str(retire_after), "--data-dir", str(data_dir)]
    return await asyncio.to_thread(main, argv)


async def _status(app: object, token: str) -> int:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url=BASE + "/") as http:
        return (await http.get("Patient", headers={"Authorization": f"Bearer {token}"})).status_code


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_rotation_takes_effect_in_a_running_server(database_url: str, tmp_path: Path) -> None:
    app = create_app(Settings(database_url=database_url, data_dir=tmp_path, public_base_url=BASE))
    async with app.router.lifespan_context(app):
        before = await _token(app)
        assert await _rotate(tmp_path, retire_after=3600) == 0
        after = await _token(app)
        assert jwt.get_unverified_header(after)["kid"] != jwt.get_unverified_header(before)["kid"]
        assert await _status(app, before) == 200
        assert await _status(app, after) == 200
        assert await _rotate(tmp_path, retire_after=0) == 0
        assert await _status(app, after) == 401  # its key has just retired
        assert await _status(app, await _token(app)) == 200
