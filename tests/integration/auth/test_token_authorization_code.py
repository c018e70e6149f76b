"""POST /auth/token with grant_type=authorization_code: the SMART App Launch and ONC (g)(10) token checks."""

from __future__ import annotations

import time

import httpx
from fastapi import FastAPI
from jose import jwt
from sqlalchemy import update

from fhir_server.auth.components import AuthComponents
from fhir_server.auth.records import LaunchContext
from fhir_server.storage.auth_tables import auth_code
from tests.integration.auth.conftest import (
    BASE,
    EHR_SECRET,
    REDIRECT,
    code_form,
    exchange_code,
    issue_code,
    post_form,
    s256,
)

CONTEXT = LaunchContext(
    patient="pat-1",
    encounter="enc-7",
    fhir_context=({"reference": "Observation/obs-3"},),
    need_patient_banner=False,
)


async def test_a_code_is_exchanged_for_a_bearer_token_with_its_launch_context(
    client: httpx.AsyncClient, auth: AuthComponents
) -> None:
    issued = await issue_code(auth, scope="launch patient/*.rs", context=CONTEXT)
    response = await exchange_code(client, issued)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "launch patient/*.rs"
    assert 0 < body["expires_in"] <= 3600
    assert body["patient"] == "pat-1"
    assert body["encounter"] == "enc-7"
    assert body["fhirContext"] == [{"reference": "Observation/obs-3"}]
    assert body["need_patient_banner"] is False
    assert body["smart_style_url"] == "http://testserver/auth/smart-style.json"
    assert "refresh_token" not in body and "id_token" not in body


async def test_the_access_token_is_ours_and_carries_the_user_and_patient(
    client: httpx.AsyncClient, auth: AuthComponents
) -> None:
    issued = await issue_code(auth, scope="launch patient/*.rs", context=CONTEXT)
    body = (await exchange_code(client, issued)).json()
    claims = auth.tokens.verify(body["access_token"])
    assert (claims.iss, claims.aud, claims.sub, claims.client_id) == (BASE, BASE, "drsmith", "growth-app")
    assert (claims.patient, claims.encounter, claims.fhir_user) == ("pat-1", "enc-7", "Practitioner/p1")
    assert claims.role is not None and claims.role.value == "psychiatrist"
    assert await auth.store.access_token_active(claims.jti)


async def test_v1_scopes_are_echoed_in_v1_syntax(client: httpx.AsyncClient, auth: AuthComponents) -> None:
    issued = await issue_code(auth, scope="launch/patient patient/*.read patient/Observation.read")
    body = (await exchange_code(client, issued)).json()
    assert body["scope"] == "launch/patient patient/*.read patient/Observation.read"


async def test_offline_access_grants_a_refresh_token(client: httpx.AsyncClient, auth: AuthComponents) -> None:
    issued = await issue_code(auth, scope="launch/patient offline_access patient/*.rs")
    body = (await exchange_code(client, issued)).json()
    assert isinstance(body["refresh_token"], str) and len(body["refresh_token"]) >= 40


async def test_online_access_grants_a_refresh_token_tied_to_the_login_session(
    client: httpx.AsyncClient, auth: AuthComponents
) -> None:
    session_id = await auth.store.start_session("drsmith")
    issued = await issue_code(auth, scope="launch/patient online_access patient/*.rs", session_id=session_id)
    body = (await exchange_code(client, issued)).json()
    record = await auth.store.find_refresh_token(body["refresh_token"])
    assert record is not None and not record.offline and record.session_alive


async def test_a_patient_user_is_confined_to_their_own_record(client: httpx.AsyncClient, auth: AuthComponents) -> None:
    issued = await issue_code(auth, username="alice", context=LaunchContext())
    body = (await exchange_code(client, issued)).json()
    assert auth.tokens.verify(body["access_token"]).patient == "pat-1"


async def test_a_patient_user_cannot_be_given_another_patients_context(
    client: httpx.AsyncClient, auth: AuthComponents
) -> None:
    issued = await issue_code(auth, username="alice", context=LaunchContext(patient="pat-2"))
    response = await exchange_code(client, issued)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_scopes_are_cut_to_what_the_client_is_registered_for(
    client: httpx.AsyncClient, auth: AuthComponents
) -> None:
    issued = await issue_code(auth, scope="launch/patient patient/*.rs system/*.rs")
    body = (await exchange_code(client, issued)).json()
    assert body["scope"] == "launch/patient patient/*.rs"


# -- PKCE -----------------------------------------------------------------------------------------------


async def test_a_missing_code_verifier_is_refused(client: httpx.AsyncClient, auth: AuthComponents) -> None:
    response = await exchange_code(client, await issue_code(auth), code_verifier=None)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_a_blank_code_verifier_is_refused(client: httpx.AsyncClient, auth: AuthComponents) -> None:
    response = await exchange_code(client, await issue_code(auth), code_verifier="")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_a_wrong_code_verifier_is_refused(client: httpx.AsyncClient, auth: AuthComponents) -> None:
    response = await exchange_code(client, await issue_code(auth), code_verifier="x" * 64)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_the_code_challenge_itself_is_not_a_verifier(client: httpx.AsyncClient, auth: AuthComponents) -> None:
    issued = await issue_code(auth)
    response = await exchange_code(client, issued, code_verifier=s256(issued.verifier))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_a_failed_verifier_does_not_burn_the_code(client: httpx.AsyncClient, auth: AuthComponents) -> None:
    issued = await issue_code(auth)
    assert (await exchange_code(client, issued, code_verifier="y" * 64)).status_code == 400
    assert (await exchange_code(client, issued)).status_code == 200


# -- the code itself ------------------------------------------------------------------------------------


async def test_an_unknown_code_is_refused(client: httpx.AsyncClient, auth: AuthComponents) -> None:
    issued = await issue_code(auth)
    response = await exchange_code(client, issued, code="not-a-code-we-issued")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_an_expired_code_is_refused(client: httpx.AsyncClient, auth: AuthComponents, app: FastAPI) -> None:
    issued = await issue_code(auth)
    a_minute_ago = (time.time_ns() // 1000) - 61_000_000
    async with app.state.services.repository.engine.begin() as conn:  # the code's minute has passed
        await conn.execute(update(auth_code).values(expires=a_minute_ago))
    response = await exchange_code(client, issued)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_a_reused_code_is_refused_and_revokes_what_it_issued(
    client: httpx.AsyncClient, auth: AuthComponents
) -> None:
    issued = await issue_code(auth, scope="launch/patient offline_access patient/*.rs")
    first = (await exchange_code(client, issued)).json()
    second = await exchange_code(client, issued)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    jti = auth.tokens.verify(first["access_token"]).jti
    assert not await auth.store.access_token_active(jti)
    refreshed = await post_form(
        client,
        "/auth/token",
        {"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "client_id": "growth-app"},
    )
    assert refreshed.json()["error"] == "invalid_grant"


async def test_a_code_is_bound_to_its_redirect_uri(client: httpx.AsyncClient, auth: AuthComponents) -> None:
    response = await exchange_code(client, await issue_code(auth), redirect_uri=REDIRECT + "/other")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_a_code_is_bound_to_its_client(client: httpx.AsyncClient, auth: AuthComponents) -> None:
    issued = await issue_code(auth, client_id="ehr-app")
    response = await exchange_code(client, issued)  # presented by growth-app
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


# -- client authentication ----------------------------------------------------------------------------


async def test_an_unknown_client_is_refused(client: httpx.AsyncClient, auth: AuthComponents) -> None:
    response = await exchange_code(client, await issue_code(auth), client_id="no-such-app")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client"


async def test_a_symmetric_client_authenticates_with_http_basic(
    client: httpx.AsyncClient, auth: AuthComponents
) -> None:
    issued = await issue_code(auth, client_id="ehr-app")
    response = await client.post(
        "/auth/token",
        data={
            "grant_type": "authorization_code",
            "code": issued.code,
            "redirect_uri": REDIRECT,
            "code_verifier": issued.verifier,
        },
        auth=("ehr-app", EHR_SECRET),
    )
    assert response.status_code == 200


async def test_a_wrong_basic_secret_is_401_with_a_basic_challenge(
    client: httpx.AsyncClient, auth: AuthComponents
) -> None:
    issued = await issue_code(auth, client_id="ehr-app")
    response = await client.post(
        "/auth/token",
        data={
            "grant_type": "authorization_code",
            "code": issued.code,
            "redirect_uri": REDIRECT,
            "code_verifier": issued.verifier,
        },
        auth=("ehr-app", "wrong secret"),
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")
    assert response.json()["error"] == "invalid_client"


async def test_a_symmetric_client_may_post_its_secret(client: httpx.AsyncClient, auth: AuthComponents) -> None:
    issued = await issue_code(auth, client_id="ehr-app")
    response = await exchange_code(client, issued, client_id="ehr-app", client_secret=EHR_SECRET)
    assert response.status_code == 200


async def test_a_confidential_client_must_authenticate(client: httpx.AsyncClient, auth: AuthComponents) -> None:
    issued = await issue_code(auth, client_id="ehr-app")
    response = await exchange_code(client, issued, client_id="ehr-app")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client"


# -- the request itself ---------------------------------------------------------------------------------


async def test_the_token_endpoint_takes_forms_only(client: httpx.AsyncClient, auth: AuthComponents) -> None:
    issued = await issue_code(auth)
    response = await client.post(
        "/auth/token",
        json={"grant_type": "authorization_code", "code": issued.code, "redirect_uri": REDIRECT},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_a_parameter_sent_twice_is_refused(client: httpx.AsyncClient, auth: AuthComponents) -> None:
    issued = await issue_code(auth)
    body = f"grant_type=authorization_code&code={issued.code}&code={issued.code}&client_id=growth-app"
    response = await client.post(
        "/auth/token", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.json()["error"] == "invalid_request"


async def test_an_unknown_grant_type_is_unsupported(client: httpx.AsyncClient) -> None:
    response = await post_form(client, "/auth/token", {"grant_type": "password", "client_id": "growth-app"})
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


# -- OpenID Connect --------------------------------------------------------------------------------------


async def test_openid_grants_an_rs256_id_token_for_the_client(client: httpx.AsyncClient, auth: AuthComponents) -> None:
    issued = await issue_code(auth, scope="openid fhirUser profile launch/patient patient/*.rs", nonce="n-0S6")
    body = (await exchange_code(client, issued)).json()
    jwks = (await client.get("/auth/jwks")).json()
    header = jwt.get_unverified_header(body["id_token"])
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    assert header["alg"] == "RS256" and key["alg"] == "RS256"
    claims = jwt.decode(
        body["id_token"], key, algorithms=["RS256"], audience="growth-app", issuer=BASE, options={"require_exp": True}
    )
    assert claims["sub"] == "drsmith"
    assert claims["fhirUser"] == f"{BASE}/Practitioner/p1"
    assert claims["nonce"] == "n-0S6"
    assert claims["name"] == "Dr Jane Smith"
    assert claims["exp"] > claims["iat"]


async def test_an_id_token_is_not_an_access_token(client: httpx.AsyncClient, auth: AuthComponents) -> None:
    issued = await issue_code(auth, scope="openid fhirUser launch/patient patient/*.rs")
    body = (await exchange_code(client, issued)).json()
    response = await client.get("/fhir/Patient/pat-1", headers={"Authorization": f"Bearer {body['id_token']}"})
    assert response.status_code == 401


async def test_two_client_authentication_methods_at_once_are_refused(
    client: httpx.AsyncClient, auth: AuthComponents
) -> None:
    issued = await issue_code(auth, client_id="ehr-app")
    form = code_form(issued, client_id="ehr-app", client_secret=EHR_SECRET)
    response = await post_form(client, "/auth/token", form, auth=("ehr-app", EHR_SECRET))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
