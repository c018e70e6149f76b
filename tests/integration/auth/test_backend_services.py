"""SMART Backend Services: client_credentials with private_key_jwt, and each negative of the test kits."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
from jose import jwt

from fhir_server.auth.client_assertion import JWT_BEARER_ASSERTION_TYPE
from fhir_server.auth.components import AuthComponents
from tests.integration.auth.conftest import EHR_SECRET, TOKEN_URL, BackendKeys, post_form


def assertion(keys: BackendKeys, *, alg: str = "RS384", headers: dict[str, Any] | None = None, **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": "bulk", "sub": "bulk", "aud": TOKEN_URL, "exp": now + 240, "jti": str(uuid.uuid4())}
    payload.update(claims)
    pem, kid = (keys.rsa_pem, keys.rsa_kid) if alg == "RS384" else (keys.ec_pem, keys.ec_kid)
    header = {"kid": kid, "typ": "JWT", **(headers or {})}
    return jwt.encode(payload, pem, algorithm=alg, headers=header)


def form(client_assertion: str, **changes: str) -> dict[str, str]:
    values = {
        "grant_type": "client_credentials",
        "scope": "system/Patient.rs system/Observation.rs",
        "client_assertion_type": JWT_BEARER_ASSERTION_TYPE,
        "client_assertion": client_assertion,
    }
    values.update(changes)
    return values


async def request_token(client: httpx.AsyncClient, body: dict[str, str]) -> httpx.Response:
    return await post_form(client, "/auth/token", body)


async def test_an_rs384_assertion_gets_a_short_lived_system_token(
    client: httpx.AsyncClient, auth: AuthComponents, backend_keys: BackendKeys
) -> None:
    response = await request_token(client, form(assertion(backend_keys)))
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "system/Patient.rs system/Observation.rs"
    assert 0 < body["expires_in"] <= 300
    assert "refresh_token" not in body
    claims = auth.tokens.verify(body["access_token"])
    assert (claims.sub, claims.client_id, claims.patient) == ("bulk", "bulk", None)
    assert await auth.store.access_token_active(claims.jti)


async def test_an_es384_assertion_is_accepted(client: httpx.AsyncClient, backend_keys: BackendKeys) -> None:
    response = await request_token(client, form(assertion(backend_keys, alg="ES384")))
    assert response.status_code == 200


async def test_scopes_are_cut_to_the_registered_ones(client: httpx.AsyncClient, backend_keys: BackendKeys) -> None:
    response = await request_token(client, form(assertion(backend_keys), scope="system/Patient.cruds system/*.rs"))
    assert response.json()["scope"] == "system/Patient.cruds system/*.rs"
    response = await request_token(client, form(assertion(backend_keys), scope="system/Observation.cruds"))
    assert response.json()["scope"] == "system/Observation.rs"


async def test_a_bad_grant_type_is_unsupported(client: httpx.AsyncClient, backend_keys: BackendKeys) -> None:
    response = await request_token(client, form(assertion(backend_keys), grant_type="not_a_grant_type"))
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


async def test_a_bad_assertion_type_is_an_invalid_client(client: httpx.AsyncClient, backend_keys: BackendKeys) -> None:
    body = form(assertion(backend_keys), client_assertion_type="not_an_assertion_type")
    response = await request_token(client, body)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client"


async def test_a_wrong_audience_is_an_invalid_client(client: httpx.AsyncClient, backend_keys: BackendKeys) -> None:
    response = await request_token(client, form(assertion(backend_keys, aud="https://elsewhere.example/token")))
    assert response.json()["error"] == "invalid_client"


async def test_an_unknown_issuer_is_an_invalid_client(client: httpx.AsyncClient, backend_keys: BackendKeys) -> None:
    response = await request_token(client, form(assertion(backend_keys, iss="stranger", sub="stranger")))
    assert response.json()["error"] == "invalid_client"


async def test_a_reused_jti_is_an_invalid_client(client: httpx.AsyncClient, backend_keys: BackendKeys) -> None:
    signed = assertion(backend_keys, jti="only-once")
    assert (await request_token(client, form(signed))).status_code == 200
    replay = await request_token(client, form(assertion(backend_keys, jti="only-once")))
    assert replay.json()["error"] == "invalid_client"


async def test_an_unknown_key_id_is_an_invalid_client(client: httpx.AsyncClient, backend_keys: BackendKeys) -> None:
    response = await request_token(client, form(assertion(backend_keys, headers={"kid": "no-such-key"})))
    assert response.json()["error"] == "invalid_client"


async def test_an_unregistered_jku_is_refused_without_fetching(
    client: httpx.AsyncClient, backend_keys: BackendKeys
) -> None:
    signed = assertion(backend_keys, headers={"jku": "https://attacker.example/jwks.json"})
    response = await request_token(client, form(signed))
    assert response.json()["error"] == "invalid_client"


async def test_an_expiry_beyond_five_minutes_is_refused(client: httpx.AsyncClient, backend_keys: BackendKeys) -> None:
    response = await request_token(client, form(assertion(backend_keys, exp=int(time.time()) + 600)))
    assert response.json()["error"] == "invalid_client"


async def test_patient_or_user_scopes_are_refused(client: httpx.AsyncClient, backend_keys: BackendKeys) -> None:
    response = await request_token(client, form(assertion(backend_keys), scope="patient/*.rs"))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


async def test_unregistered_scopes_are_refused(client: httpx.AsyncClient, backend_keys: BackendKeys) -> None:
    response = await request_token(client, form(assertion(backend_keys), scope="system/Observation.cud"))
    assert response.json()["error"] == "invalid_scope"


async def test_a_malformed_scope_is_refused(client: httpx.AsyncClient, backend_keys: BackendKeys) -> None:
    response = await request_token(client, form(assertion(backend_keys), scope="system/Patient.everything"))
    assert response.json()["error"] == "invalid_scope"


async def test_a_symmetric_client_cannot_use_client_credentials(client: httpx.AsyncClient) -> None:
    response = await post_form(
        client,
        "/auth/token",
        {"grant_type": "client_credentials", "scope": "system/*.rs"},
        auth=("ehr-app", EHR_SECRET),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"


async def test_a_system_token_reads_the_fhir_api(client: httpx.AsyncClient, backend_keys: BackendKeys) -> None:
    token = (await request_token(client, form(assertion(backend_keys)))).json()["access_token"]
    response = await client.get("/fhir/Patient", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
