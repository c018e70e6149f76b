"""The admin CLI (`novamind users|clients|token`) against a data directory, as an operator would run it."""

from __future__ import annotations

import asyncio
import io
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from fhir_server.auth.components import AuthComponents, build_auth_components
from fhir_server.auth.roles import Role
from fhir_server.cli import main
from fhir_server.settings import Settings
from fhir_server.storage.db import create_engine
from tests.integration.auth.conftest import BackendKeys

T = TypeVar("T")


@pytest.fixture
def data_dir(tmp_path: Path, keys_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NOVAMIND_KEYS_DIR", str(keys_dir))
    monkeypatch.setenv("NOVAMIND_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("NOVAMIND_ARGON2_MEMORY_KIB", "8192")
    return tmp_path / "data"


def novamind(data_dir: Path, *argv: str, stdin: str = "") -> int:
    saved = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        return main([*argv, "--data-dir", str(data_dir)])
    finally:
        sys.stdin = saved


def inspect(data_dir: Path, query: Callable[[AuthComponents], Awaitable[T]]) -> T:
    """Look at what the commands stored, through the same components the server builds."""

    async def run() -> T:
        settings = Settings(data_dir=data_dir)
        engine = create_engine(settings.resolved_database_url())
        try:
            return await query(build_auth_components(settings, engine))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_users_add_stores_a_clinician_who_can_sign_in(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["users", "add", "drsmith", "--role", "psychiatrist", "--fhir-user", "Practitioner/p1", "--name", "Dr Smith"]
    assert novamind(data_dir, *argv, "--password-stdin", stdin="s3cret-passw0rd\n") == 0
    user = inspect(data_dir, lambda auth: auth.store.authenticate("drsmith", "s3cret-passw0rd"))
    assert user is not None
    assert (user.role, user.fhir_user, user.display_name) == (Role.PSYCHIATRIST, "Practitioner/p1", "Dr Smith")
    assert "s3cret-passw0rd" not in capsys.readouterr().out


def test_users_add_links_a_patient_to_their_record(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        novamind(data_dir, "users", "add", "alice", "--patient", "pat-1", "--password-stdin", stdin="long-enough\n")
        == 0
    )
    assert novamind(data_dir, "users", "list") == 0
    listing = capsys.readouterr().out
    assert "alice\tpatient=pat-1\tPatient/pat-1" in listing


def test_a_short_password_is_refused(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert novamind(data_dir, "users", "add", "bob", "--role", "researcher", "--password-stdin", stdin="short\n") == 2
    assert "at least 8" in capsys.readouterr().err


def test_clients_add_symmetric_prints_its_secret_once(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["clients", "add", "ehr-app", "--kind", "symmetric", "--redirect-uri", "https://ehr.example/cb"]
    assert novamind(data_dir, *argv, "--scope", "launch user/*.rs", "--can-launch") == 0
    secret = capsys.readouterr().out.split("client_secret: ")[1].strip()
    assert inspect(data_dir, lambda auth: auth.store.verify_client_secret("ehr-app", secret))
    assert novamind(data_dir, "clients", "list") == 0
    listing = capsys.readouterr().out
    assert "ehr-app\tsymmetric\tlaunch user/*.rs\thttps://ehr.example/cb\t-\tcan-launch" in listing
    assert secret not in listing


def test_clients_add_asymmetric_registers_a_public_jwks(
    data_dir: Path, tmp_path: Path, backend_keys: BackendKeys
) -> None:
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(backend_keys.jwks))
    argv = ["clients", "add", "bulk", "--kind", "asymmetric", "--scope", "system/*.rs", "--jwks", str(jwks_file)]
    assert novamind(data_dir, *argv) == 0
    client = inspect(data_dir, lambda auth: auth.store.client("bulk"))
    assert client is not None and client.jwks == backend_keys.jwks


def test_a_jwks_with_private_keys_is_refused(data_dir: Path, tmp_path: Path) -> None:
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [{"kty": "RSA", "n": "x", "e": "AQAB", "d": "secret"}]}))
    argv = ["clients", "add", "bulk", "--kind", "asymmetric", "--scope", "system/*.rs", "--jwks", str(jwks_file)]
    assert novamind(data_dir, *argv) == 2


def test_token_prints_a_signed_recorded_access_token(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["clients", "add", "scripts", "--kind", "public", "--redirect-uri", "http://localhost/cb"]
    assert novamind(data_dir, *argv, "--scope", "patient/*.rs system/*.rs") == 0
    capsys.readouterr()
    assert novamind(data_dir, "token", "--client-id", "scripts", "--scope", "patient/*.rs", "--patient", "pat-9") == 0
    token = capsys.readouterr().out.strip()

    async def check(auth: AuthComponents) -> None:
        claims = auth.tokens.verify(token)
        assert (claims.client_id, claims.sub, claims.patient, claims.scope) == (
            "scripts",
            "scripts",
            "pat-9",
            "patient/*.rs",
        )
        assert claims.iss == "http://127.0.0.1:8080/fhir"
        assert await auth.store.access_token_active(claims.jti)

    inspect(data_dir, check)


def test_token_refuses_scopes_beyond_the_clients_registration(data_dir: Path) -> None:
    argv = ["clients", "add", "scripts", "--kind", "public", "--redirect-uri", "http://localhost/cb"]
    assert novamind(data_dir, *argv, "--scope", "patient/*.rs") == 0
    assert novamind(data_dir, "token", "--client-id", "scripts", "--scope", "system/*.rs") == 2
    assert novamind(data_dir, "token", "--client-id", "nobody", "--scope", "patient/*.rs") == 2
