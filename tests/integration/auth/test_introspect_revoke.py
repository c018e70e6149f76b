"""POST /auth/introspect (RFC 7662) and POST /auth/revoke (RFC 7009), and revocation seen by the FHIR API."""

from __future__ import annotations

import httpx

from fhir_server.auth.components import AuthComponents
from tests.integration.auth.conftest import BASE, EHR_SECRET, exchange_code, issue_code, post_form

SCOPE = "launch/patient offline_access user/*.rs"
EHR = ("ehr-app", EHR_SECRET)


async def _tokens(client: httpx.AsyncClient, auth: AuthComponents, client_id: str = "growth-app") -> dict[str, str]:
    issued = await issue_code(auth, scope=SCOPE, client_id=client_id)
    secret = EHR_SECRET if client_id == "ehr-app" else None
    response = await exchange_code(client, issued, client_id=client_id, client_secret=secret)
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


async def _introspect(client: httpx.AsyncClient, token: str, **kwargs: object) -> httpx.Response:
    return await post_form(client, "/auth/introspect", {"token": token}, **kwargs)  # type: ignore[arg-type]


async def test_an_active_token_is_described(client: httpx.AsyncClient, auth: AuthComponents) -> None:
    tokens = await _tokens(client, auth)
    response = await _introspect(client, tokens["access_token"], auth=EHR)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["active"] is True
    assert body["scope"] == "launch/patient offline_access user/*.rs"
    assert (body["client_id"], body["sub"], body["iss"], body["aud"]) == ("growth-app", "drsmith", BASE, BASE)
    assert body["token_type"] == "Bearer"
    assert body["patient"] == "pat-1"
    assert body["fhirUser"] == "Practitioner/p1"
    assert body["exp"] > body["iat"]


async def test_a_resource_server_may_introspect_with_a_bearer_token(
    client: httpx.AsyncClient, auth: AuthComponents
) -> None:
    mine, theirs = await _tokens(client, auth), await _tokens(client, auth)
    headers = {"Authorization": f"Bearer {mine['access_token']}"}
    response = await _introspect(client, theirs["access_token"], headers=headers)
    assert response.json()["active"] is True


async def test_an_invalid_token_is_inactive_and_nothing_else(client: httpx.AsyncClient) -> None:
    response = await _introspect(client, "not.a.token", auth=EHR)
    assert response.status_code == 200
    assert response.json() == {"active": False}


async def test_introspection_needs_an_authenticated_caller(client: httpx.AsyncClient, auth: AuthComponents) -> None:
    tokens = await _tokens(client, auth)
    assert (await _introspect(client, tokens["access_token"])).status_code == 401
    public = await post_form(client, "/auth/introspect", {"token": tokens["access_token"], "client_id": "growth-app"})
    assert public.status_code == 401
    wrong = await _introspect(client, tokens["access_token"], auth=("ehr-app", "wrong"))
    assert wrong.status_code == 401


async def test_a_refresh_token_is_described_only_to_its_own_client(
    client: httpx.AsyncClient, auth: AuthComponents
) -> None:
    tokens = await _tokens(client, auth, client_id="ehr-app")
    body = (await _introspect(client, tokens["refresh_token"], auth=EHR)).json()
    assert (body["active"], body["client_id"], body["token_type"]) == (True, "ehr-app", "refresh_token")
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await _introspect(client, tokens["refresh_token"], headers=bearer)).json() == {"active": False}


async def test_a_revoked_access_token_is_inactive_at_once(client: httpx.AsyncClient, auth: AuthComponents) -> None:
    tokens = await _tokens(client, auth)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await client.get("/fhir/Patient", headers=bearer)).status_code == 200
    revoked = await post_form(client, "/auth/revoke", {"token": tokens["access_token"], "client_id": "growth-app"})
    assert revoked.status_code == 200
    assert (await _introspect(client, tokens["access_token"], auth=EHR)).json() == {"active": False}
    after = await client.get("/fhir/Patient", headers=bearer)
    assert after.status_code == 401
    assert after.headers["www-authenticate"].startswith("Bearer")


async def test_revoking_a_refresh_token_revokes_its_family(client: httpx.AsyncClient, auth: AuthComponents) -> None:
    tokens = await _tokens(client, auth)
    form = {"token": tokens["refresh_token"], "token_type_hint": "refresh_token", "client_id": "growth-app"}
    assert (await post_form(client, "/auth/revoke", form)).status_code == 200
    assert (await _introspect(client, tokens["access_token"], auth=EHR)).json() == {"active": False}
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    assert (await post_form(client, "/auth/token", refresh)).json()["error"] == "invalid_grant"


async def test_a_confidential_client_revokes_with_its_credentials(
    client: httpx.AsyncClient, auth: AuthComponents
) -> None:
    tokens = await _tokens(client, auth, client_id="ehr-app")
    unauthenticated = await post_form(client, "/auth/revoke", {"token": tokens["access_token"]})
    assert unauthenticated.json()["error"] == "unauthorized_client"
    assert (await post_form(client, "/auth/revoke", {"token": tokens["access_token"]}, auth=EHR)).status_code == 200
    assert not await auth.store.access_token_active(auth.tokens.verify(tokens["access_token"]).jti)


async def test_a_client_cannot_revoke_another_clients_token(client: httpx.AsyncClient, auth: AuthComponents) -> None:
    tokens = await _tokens(client, auth)
    response = await post_form(client, "/auth/revoke", {"token": tokens["access_token"]}, auth=EHR)
    assert response.status_code == 400
    assert await auth.store.access_token_active(auth.tokens.verify(tokens["access_token"]).jti)


async def test_revoking_an_unknown_token_is_a_quiet_success(client: httpx.AsyncClient) -> None:
    response = await post_form(client, "/auth/revoke", {"token": "never-issued", "client_id": "growth-app"})
    assert response.status_code == 200
