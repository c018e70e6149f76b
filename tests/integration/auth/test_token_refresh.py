"""POST /auth/token with grant_type=refresh_token: rotation, reuse detection, narrowing, client binding."""

from __future__ import annotations

import httpx

from fhir_server.auth.components import AuthComponents
from tests.integration.auth.conftest import EHR_SECRET, exchange_code, issue_code, post_form

SCOPE = "launch/patient openid fhirUser offline_access patient/*.rs patient/Observation.rs"


async def _tokens(
    client: httpx.AsyncClient,
    auth: AuthComponents,
    *,
    scope: str = SCOPE,
    client_id: str = "growth-app",
    session_id: str | None = None,
) -> dict[str, str]:
    issued = await issue_code(auth, scope=scope, client_id=client_id, session_id=session_id)
    secret = EHR_SECRET if client_id == "ehr-app" else None
    response = await exchange_code(client, issued, client_id=client_id, client_secret=secret)
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


async def _refresh(client: httpx.AsyncClient, refresh_token: str, **extra: str) -> httpx.Response:
    return await post_form(
        client, "/auth/token", {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}
    )


async def test_a_refresh_without_scope_keeps_the_granted_scopes_and_rotates(
    client: httpx.AsyncClient, auth: AuthComponents
) -> None:
    first = await _tokens(client, auth)
    response = await _refresh(client, first["refresh_token"], client_id="growth-app")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["scope"] == SCOPE
    assert body["token_type"] == "Bearer"
    assert body["refresh_token"] != first["refresh_token"]
    assert body["patient"] == "pat-1"
    assert auth.tokens.verify(body["access_token"]).sub == "drsmith"


async def test_a_refresh_with_scope_narrows_the_new_access_token(
    client: httpx.AsyncClient, auth: AuthComponents
) -> None:
    first = await _tokens(client, auth)
    response = await _refresh(client, first["refresh_token"], client_id="growth-app", scope="patient/Observation.rs")
    assert response.status_code == 200
    body = response.json()
    assert body["scope"] == "patient/Observation.rs"
    assert auth.tokens.verify(body["access_token"]).scope == "patient/Observation.rs"
    # the rotated refresh token keeps the original grant (RFC 6749 section 6)
    again = await _refresh(client, body["refresh_token"], client_id="growth-app")
    assert again.json()["scope"] == SCOPE


async def test_a_refresh_cannot_widen_the_scopes(client: httpx.AsyncClient, auth: AuthComponents) -> None:
    first = await _tokens(client, auth)
    response = await _refresh(client, first["refresh_token"], client_id="growth-app", scope="patient/*.cruds")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


async def test_a_public_client_may_omit_its_client_id(client: httpx.AsyncClient, auth: AuthComponents) -> None:
    first = await _tokens(client, auth)
    assert (await _refresh(client, first["refresh_token"])).status_code == 200


async def test_a_confidential_client_must_authenticate_to_refresh(
    client: httpx.AsyncClient, auth: AuthComponents
) -> None:
    first = await _tokens(client, auth, client_id="ehr-app")
    assert (await _refresh(client, first["refresh_token"])).json()["error"] == "invalid_client"
    response = await post_form(
        client,
        "/auth/token",
        {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        auth=("ehr-app", EHR_SECRET),
    )
    assert response.status_code == 200


async def test_a_refresh_token_is_bound_to_its_client(client: httpx.AsyncClient, auth: AuthComponents) -> None:
    first = await _tokens(client, auth)
    response = await post_form(
        client,
        "/auth/token",
        {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        auth=("ehr-app", EHR_SECRET),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_an_unknown_refresh_token_is_refused(client: httpx.AsyncClient) -> None:
    response = await _refresh(client, "not-a-refresh-token", client_id="growth-app")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_reusing_a_rotated_refresh_token_revokes_its_family(
    client: httpx.AsyncClient, auth: AuthComponents
) -> None:
    first = await _tokens(client, auth)
    second = (await _refresh(client, first["refresh_token"])).json()
    reuse = await _refresh(client, first["refresh_token"])
    assert reuse.status_code == 400
    assert reuse.json()["error"] == "invalid_grant"
    # everything in the family is gone: the current refresh token and every access token
    assert (await _refresh(client, second["refresh_token"])).json()["error"] == "invalid_grant"
    for body in (first, second):
        assert not await auth.store.access_token_active(auth.tokens.verify(body["access_token"]).jti)


async def test_an_online_access_refresh_token_ends_with_the_login_session(
    client: httpx.AsyncClient, auth: AuthComponents
) -> None:
    session_id = await auth.store.start_session("drsmith")
    first = await _tokens(client, auth, scope="launch/patient online_access patient/*.rs", session_id=session_id)
    second = await _refresh(client, first["refresh_token"])
    assert second.status_code == 200
    await auth.store.end_session(session_id)
    response = await _refresh(client, second.json()["refresh_token"])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_a_refresh_of_an_openid_grant_carries_a_fresh_id_token(
    client: httpx.AsyncClient, auth: AuthComponents
) -> None:
    first = await _tokens(client, auth)
    body = (await _refresh(client, first["refresh_token"])).json()
    assert body["id_token"].count(".") == 2
