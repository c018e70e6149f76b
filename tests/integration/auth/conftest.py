"""The real app over a real SQLite file, with a few registered clients and users, reached in-process.

Signing keys are generated once per session (RSA generation is the slow part) and shared read-only by every
test's app through `Settings.keys_dir`; the database is fresh per test.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI

from fhir_server.app import create_app
from fhir_server.auth.components import AuthComponents
from fhir_server.auth.keys import KeyRing, public_jwk
from fhir_server.auth.records import AuthorizationGrant, Client, ClientKind, LaunchContext, User
from fhir_server.auth.roles import Role
from fhir_server.settings import Settings

ORIGIN = "http://testserver"
BASE = f"{ORIGIN}/fhir"
AUTH = f"{ORIGIN}/auth"
TOKEN_URL = f"{AUTH}/token"
REDIRECT = "https://app.example/callback"
APP_SCOPE = (
    "launch launch/patient launch/encounter openid fhirUser profile offline_access online_access "
    "patient/*.cruds user/*.cruds"
)
EHR_SECRET = "ehr-app-secret-value"
PASSWORD = "correct horse battery staple"

PUBLIC_APP = Client("growth-app", "Growth chart", ClientKind.PUBLIC, (REDIRECT,), APP_SCOPE)
EHR_APP = Client("ehr-app", "EHR-embedded app", ClientKind.SYMMETRIC, (REDIRECT,), APP_SCOPE)
DOCTOR = User("drsmith", "Dr Jane Smith", role=Role.PSYCHIATRIST, fhir_user="Practitioner/p1")
PATIENT_USER = User("alice", "Alice Example", patient_id="pat-1", fhir_user="Patient/pat-1")


@dataclass(frozen=True)
class BackendKeys:
    """A backend-services client's key pairs (registered publicly, signed with privately)."""

    rsa_pem: str
    rsa_kid: str
    ec_pem: str
    ec_kid: str
    jwks: dict[str, Any]


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("server-keys") / "keys"
    KeyRing.open(directory, rsa_bits=2048)
    return directory


@pytest.fixture(scope="session")
def backend_keys() -> BackendKeys:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP384R1())
    rsa_jwk, ec_jwk = public_jwk(rsa_key, "RS384"), public_jwk(ec_key, "ES384")
    return BackendKeys(_pem(rsa_key), rsa_jwk["kid"], _pem(ec_key), ec_jwk["kid"], {"keys": [rsa_jwk, ec_jwk]})


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    encoded = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return encoded.decode("ascii")


@pytest.fixture
def settings(tmp_path: Path, keys_dir: Path) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'auth.sqlite3'}",
        data_dir=tmp_path,
        public_base_url=BASE,
        keys_dir=keys_dir,
        # argon2id still, at a cost that keeps a test's few hashes fast; production keeps the defaults
        argon2_time_cost=1,
        argon2_memory_kib=8192,
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
def auth(app: FastAPI) -> AuthComponents:
    return app.state.services.auth  # type: ignore[no-any-return]


@pytest.fixture
async def client(app: FastAPI, auth: AuthComponents, backend_keys: BackendKeys) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client to a server with the test clients and users registered."""
    await auth.store.add_client(PUBLIC_APP)
    await auth.store.add_client(EHR_APP, secret=EHR_SECRET)
    await auth.store.add_client(
        Client("bulk", "Bulk export", ClientKind.ASYMMETRIC, (), "system/*.rs system/Patient.cruds", backend_keys.jwks)
    )
    await auth.store.add_client(
        Client(
            "remote-keys",
            "Backend with a JWKS URL",
            ClientKind.ASYMMETRIC,
            (),
            "system/*.rs",
            jwks_uri="https://backend.example/jwks.json",
        )
    )
    await auth.store.add_user(DOCTOR, PASSWORD)
    await auth.store.add_user(PATIENT_USER, PASSWORD)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as http:
        yield http


def new_verifier() -> str:
    return secrets.token_urlsafe(48)


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


@dataclass(frozen=True)
class IssuedCode:
    code: str
    verifier: str


async def issue_code(
    auth: AuthComponents,
    *,
    client_id: str = "growth-app",
    scope: str = "launch/patient openid fhirUser offline_access patient/*.rs",
    username: str = "drsmith",
    context: LaunchContext | None = None,
    session_id: str | None = None,
    nonce: str | None = None,
) -> IssuedCode:
    """What the authorization endpoint does once the user has consented (it is engineer B's; tests use the store)."""
    verifier = new_verifier()
    grant = AuthorizationGrant(
        client_id=client_id,
        redirect_uri=REDIRECT,
        code_challenge=s256(verifier),
        username=username,
        scope=scope,
        context=context or LaunchContext(patient="pat-1"),
        session_id=session_id,
        nonce=nonce,
    )
    return IssuedCode(await auth.store.issue_code(grant), verifier)


def code_form(issued: IssuedCode, **changes: str | None) -> dict[str, str]:
    form: dict[str, str | None] = {
        "grant_type": "authorization_code",
        "code": issued.code,
        "redirect_uri": REDIRECT,
        "code_verifier": issued.verifier,
        "client_id": "growth-app",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


async def post_form(
    http: httpx.AsyncClient, path: str, form: dict[str, str], *, auth: tuple[str, str] | None = None, **kwargs: Any
) -> httpx.Response:
    if auth is not None:
        kwargs["auth"] = auth
    return await http.post(path, data=form, **kwargs)


async def exchange_code(http: httpx.AsyncClient, issued: IssuedCode, **changes: str | None) -> httpx.Response:
    return await post_form(http, "/auth/token", code_form(issued, **changes))
