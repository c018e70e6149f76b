"""The authorization endpoint and its pages, as the SMART App Launch 2.2 and ONC (g)(10) kits exercise them.

Real app, real SQLite file, clients and users registered through the `AuthStore`; the browser is an httpx
client that keeps cookies and does not follow redirects, so every hop is asserted.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from fhir_server.app import create_app
from fhir_server.auth.consent import OBSERVATION_CATEGORY
from fhir_server.auth.records import Client, ClientKind, LaunchContext, User
from fhir_server.auth.roles import Role
from fhir_server.auth.store import AuthStore
from fhir_server.settings import Settings
from fhir_server.storage.audit_tables import audit_event

AUD = "http://testserver/fhir"
REDIRECT = "https://app.example/callback"
OTHER_REDIRECT = "https://app.example/other"
VERIFIER = "a-verifier-of-plenty-of-entropy-0123456789-abcdefghijkl"
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
APP_SCOPE = "launch launch/patient openid fhirUser offline_access online_access patient/*.cruds user/*.cruds"
ODD_STATE = "s t&a=t/e?#%25+é😀\"'<>"


def settings_in(directory: Path, keys_dir: Path) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{directory / 'auth.sqlite3'}",
        data_dir=directory,
        keys_dir=keys_dir,
        public_base_url=AUD,
    )


async def seed(settings: Settings) -> None:
    """Register the clients, users and patients every test starts from."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        auth_store: AuthStore = application.state.services.auth.store
        await auth_store.add_client(Client("app", "Mood Tracker", ClientKind.PUBLIC, (REDIRECT,), APP_SCOPE))
        await auth_store.add_client(Client("two", "Two URIs", ClientKind.PUBLIC, (REDIRECT, OTHER_REDIRECT), APP_SCOPE))
        await auth_store.add_client(Client("narrow", "Narrow", ClientKind.PUBLIC, (REDIRECT,), "patient/Patient.rs"))
        await auth_store.add_user(User("pat", "Pat Example", patient_id="p1", fhir_user="Patient/p1"), "pat-password")
        await auth_store.add_user(
            User("dr", "Dr Who", role=Role.PSYCHIATRIST, fhir_user="Practitioner/dr1"), "dr-password"
        )
        await auth_store.add_user(User("nurse", "Nurse Joy", role=Role.NURSE_PRACTITIONER), "nurse-password")
        async with application.state.services.repository.unit_of_work() as uow:
            for pid, family, given, born in (
                ("p1", "Example", "Pat", "1980-02-03"),
                ("p2", "Other", "Olive", "1975-06-07"),
            ):
                patient = {"resourceType": "Patient", "name": [{"family": family, "given": [given]}], "birthDate": born}
                await uow.save("Patient", pid, patient, current=None, method="PUT")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One database with the fixtures' records, and one key directory, made once per module and copied per
    test: 3072-bit RSA keys and argon2id password hashes are deliberately slow to make."""
    keys_dir = tmp_path_factory.mktemp("keys")
    directory = tmp_path_factory.mktemp("seed")
    asyncio.run(seed(settings_in(directory, keys_dir)))
    return directory / "auth.sqlite3", keys_dir


@pytest.fixture
async def app(tmp_path: Path, seeded: tuple[Path, Path]) -> AsyncIterator[FastAPI]:
    database, keys_dir = seeded
    shutil.copy(database, tmp_path / "auth.sqlite3")
    application = create_app(settings_in(tmp_path, keys_dir))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def store(app: FastAPI) -> AuthStore:
    auth_store: AuthStore = app.state.services.auth.store
    return auth_store


@pytest.fixture
async def browser(app: FastAPI, store: AuthStore) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


# ---- helpers --------------------------------------------------------------------------------------------


def authorize_params(**overrides: str | None) -> dict[str, str]:
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": "app",
        "redirect_uri": REDIRECT,
        "scope": "launch/patient openid fhirUser patient/Observation.rs patient/Patient.rs",
        "state": "state-123",
        "aud": AUD,
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', html)
    assert match, f"no hidden field {name}"
    return match.group(1)


def checkboxes(html: str) -> list[str]:
    return re.findall(r'type="checkbox" name="([^"]+)"', html)


def client_redirect(response: httpx.Response) -> dict[str, str]:
    """The query sent back to the app; asserts it goes to the registered redirect URI."""
    assert response.status_code in (302, 303), response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query, keep_blank_values=True).items()}


async def post_form(browser: httpx.AsyncClient, url: str, form: dict[str, str]) -> httpx.Response:
    return await browser.post(
        url, content=urlencode(form), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )


async def sign_in(browser: httpx.AsyncClient, response: httpx.Response, username: str, password: str) -> httpx.Response:
    """Follow an authorize answer to the login page and sign in; returns the login POST's answer."""
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith("/auth/login?")
    page = await browser.get(response.headers["location"])
    assert page.status_code == 200
    form = {
        "csrf_token": hidden(page.text, "csrf_token"),
        "pending": hidden(page.text, "pending"),
        "username": username,
        "password": password,
    }
    return await post_form(browser, "/auth/login", form)


async def consent_page(
    browser: httpx.AsyncClient, username: str, password: str, **overrides: str | None
) -> httpx.Response:
    """Authorize, sign in, and open the page the login leads to."""
    response = await browser.get("/auth/authorize", params=authorize_params(**overrides))
    signed_in = await sign_in(browser, response, username, password)
    assert signed_in.status_code == 303, signed_in.text
    return await browser.get(signed_in.headers["location"])


async def approve(
    browser: httpx.AsyncClient, page: httpx.Response, *, untick: tuple[str, ...] = (), decision: str = "approve"
) -> httpx.Response:
    assert page.status_code == 200, page.text
    form = {
        "csrf_token": hidden(page.text, "csrf_token"),
        "pending": hidden(page.text, "pending"),
        "decision": decision,
    }
    form.update({name: "on" for name in checkboxes(page.text) if name not in untick})
    return await post_form(browser, "/auth/consent", form)


async def granted(store: AuthStore, response: httpx.Response, state: str = "state-123") -> Any:
    query = client_redirect(response)
    assert query["state"] == state
    record = await store.find_code(query["code"])
    assert record is not None
    return record.grant


# ---- client and redirect URI: never redirect to anything unregistered -----------------------------------


async def test_unregistered_client_gets_an_error_page_not_a_redirect(browser: httpx.AsyncClient) -> None:
    response = await browser.get("/auth/authorize", params=authorize_params(client_id="nobody"))
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "not registered" in response.text


async def test_missing_client_id_gets_an_error_page(browser: httpx.AsyncClient) -> None:
    response = await browser.get("/auth/authorize", params=authorize_params(client_id=None))
    assert response.status_code == 400
    assert "location" not in response.headers


@pytest.mark.parametrize("uri", ["https://evil.example/callback", REDIRECT + "/", REDIRECT + "?x=1"])
async def test_unregistered_redirect_uri_gets_an_error_page(browser: httpx.AsyncClient, uri: str) -> None:
    response = await browser.get("/auth/authorize", params=authorize_params(redirect_uri=uri))
    assert response.status_code == 400
    assert "location" not in response.headers


async def test_bad_redirect_uri_is_caught_before_any_other_error(browser: httpx.AsyncClient) -> None:
    params = authorize_params(redirect_uri="https://evil.example/cb", aud="https://elsewhere/fhir", response_type="x")
    response = await browser.get("/auth/authorize", params=params)
    assert response.status_code == 400
    assert "location" not in response.headers


async def test_missing_redirect_uri_uses_the_only_registered_one(browser: httpx.AsyncClient) -> None:
    response = await browser.get("/auth/authorize", params=authorize_params(redirect_uri=None, aud="https://x/fhir"))
    assert client_redirect(response)["error"] == "invalid_request"


async def test_missing_redirect_uri_is_refused_when_several_are_registered(browser: httpx.AsyncClient) -> None:
    response = await browser.get("/auth/authorize", params=authorize_params(client_id="two", redirect_uri=None))
    assert response.status_code == 400
    assert "location" not in response.headers


# ---- request errors: redirected with the state echoed -----------------------------------------------------


async def test_invalid_aud_is_refused(browser: httpx.AsyncClient) -> None:
    response = await browser.get("/auth/authorize", params=authorize_params(aud="https://other.example/fhir"))
    query = client_redirect(response)
    assert query["error"] == "invalid_request"
    assert "aud" in query["error_description"]
    assert query["state"] == "state-123"
    assert "code" not in query


@pytest.mark.parametrize("method", [None, "plain"])
async def test_pkce_without_s256_is_refused(browser: httpx.AsyncClient, method: str | None) -> None:
    response = await browser.get("/auth/authorize", params=authorize_params(code_challenge_method=method))
    query = client_redirect(response)
    assert query["error"] == "invalid_request"
    assert "code" not in query


async def test_missing_code_challenge_is_refused(browser: httpx.AsyncClient) -> None:
    response = await browser.get("/auth/authorize", params=authorize_params(code_challenge=None))
    assert client_redirect(response)["error"] == "invalid_request"


async def test_state_is_echoed_byte_for_byte_on_errors(browser: httpx.AsyncClient) -> None:
    response = await browser.get("/auth/authorize", params=authorize_params(aud="https://x/fhir", state=ODD_STATE))
    assert client_redirect(response)["state"] == ODD_STATE


async def test_response_type_other_than_code_is_unsupported(browser: httpx.AsyncClient) -> None:
    response = await browser.get("/auth/authorize", params=authorize_params(response_type="token"))
    assert client_redirect(response)["error"] == "unsupported_response_type"


async def test_scopes_the_client_may_not_have_are_invalid_scope(browser: httpx.AsyncClient) -> None:
    params = authorize_params(client_id="narrow", scope="patient/Observation.rs")
    assert client_redirect(await browser.get("/auth/authorize", params=params))["error"] == "invalid_scope"


async def test_malformed_scope_is_invalid_scope(browser: httpx.AsyncClient) -> None:
    params = authorize_params(scope="patient/Observation.everything")
    assert client_redirect(await browser.get("/auth/authorize", params=params))["error"] == "invalid_scope"


async def test_repeated_parameter_is_invalid_request(browser: httpx.AsyncClient) -> None:
    query = urlencode(authorize_params()) + "&scope=patient/Patient.rs"
    response = await browser.get(f"/auth/authorize?{query}")
    assert client_redirect(response)["error"] == "invalid_request"


# ---- a valid request: login, consent, code ------------------------------------------------------------


async def test_valid_request_without_a_session_goes_to_login(browser: httpx.AsyncClient) -> None:
    response = await browser.get("/auth/authorize", params=authorize_params())
    assert response.status_code == 303
    assert response.headers["location"].startswith("/auth/login?pending=")


async def test_authorize_by_post_works_like_get(browser: httpx.AsyncClient, store: AuthStore) -> None:
    response = await post_form(browser, "/auth/authorize", authorize_params())
    signed_in = await sign_in(browser, response, "pat", "pat-password")
    page = await browser.get(signed_in.headers["location"])
    grant = await granted(store, await approve(browser, page))
    assert grant.client_id == "app"


async def test_authorize_by_post_must_be_form_encoded(browser: httpx.AsyncClient) -> None:
    response = await browser.post("/auth/authorize", json=authorize_params())
    assert response.status_code == 400
    assert "location" not in response.headers


async def test_state_is_echoed_byte_for_byte_with_the_code(browser: httpx.AsyncClient, store: AuthStore) -> None:
    page = await consent_page(browser, "pat", "pat-password", state=ODD_STATE)
    grant = await granted(store, await approve(browser, page), state=ODD_STATE)
    assert grant.username == "pat"


async def test_wrong_password_and_unknown_user_get_the_same_answer(browser: httpx.AsyncClient) -> None:
    response = await browser.get("/auth/authorize", params=authorize_params())
    wrong_password = await sign_in(browser, response, "pat", "nope")
    unknown_user = await sign_in(browser, response, "nobody", "nope")
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert "username or password is incorrect" in wrong_password.text
    assert "username or password is incorrect" in unknown_user.text


async def test_session_cookie_is_http_only_and_same_site_lax(browser: httpx.AsyncClient) -> None:
    response = await browser.get("/auth/authorize", params=authorize_params())
    signed_in = await sign_in(browser, response, "pat", "pat-password")
    cookie = next(v for v in signed_in.headers.get_list("set-cookie") if v.startswith("novamind_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http in this test; https deployments get Secure


async def test_pages_cannot_be_framed_or_cached(browser: httpx.AsyncClient) -> None:
    page = await consent_page(browser, "pat", "pat-password")
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"


async def test_consent_page_names_the_app_and_the_scopes_in_plain_language(browser: httpx.AsyncClient) -> None:
    page = await consent_page(browser, "pat", "pat-password")
    assert "Mood Tracker" in page.text
    assert "Read and search your observations" in page.text
    assert "Pat Example" in page.text


async def test_deny_redirects_with_access_denied(browser: httpx.AsyncClient) -> None:
    page = await consent_page(browser, "pat", "pat-password")
    query = client_redirect(await approve(browser, page, decision="deny"))
    assert query["error"] == "access_denied"
    assert query["state"] == "state-123"
    assert "code" not in query


async def test_signed_in_user_skips_the_login_page(browser: httpx.AsyncClient) -> None:
    await consent_page(browser, "pat", "pat-password")
    again = await browser.get("/auth/authorize", params=authorize_params())
    assert again.status_code == 200
    assert "Read and search your observations" in again.text


async def test_code_is_redeemed_at_the_token_endpoint(browser: httpx.AsyncClient) -> None:
    page = await consent_page(browser, "pat", "pat-password")
    code = client_redirect(await approve(browser, page))["code"]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": "app",
        "code_verifier": VERIFIER,
    }
    token = await post_form(browser, "/auth/token", form)
    assert token.status_code == 200, token.text
    assert token.json()["patient"] == "p1"


# ---- consent choices --------------------------------------------------------------------------------------


async def test_unticking_a_resource_type_leaves_it_out(browser: httpx.AsyncClient, store: AuthStore) -> None:
    page = await consent_page(browser, "pat", "pat-password")
    fields = checkboxes(page.text)
    observation = fields[0]
    grant = await granted(store, await approve(browser, page, untick=(observation,)))
    assert grant.scope == "launch/patient openid fhirUser patient/Patient.rs"


async def test_unticking_categories_narrows_the_scope(browser: httpx.AsyncClient, store: AuthStore) -> None:
    page = await consent_page(browser, "pat", "pat-password", scope="launch/patient patient/Observation.rs")
    untick = tuple(f for f in checkboxes(page.text) if f.endswith(("-survey", "-social-history", "-vital-signs")))
    grant = await granted(store, await approve(browser, page, untick=untick))
    assert grant.scope == f"launch/patient patient/Observation.rs?category={OBSERVATION_CATEGORY}|laboratory"


async def test_v1_scopes_stay_v1(browser: httpx.AsyncClient, store: AuthStore) -> None:
    page = await consent_page(browser, "pat", "pat-password", scope="launch/patient patient/Observation.read")
    grant = await granted(store, await approve(browser, page))
    assert grant.scope == "launch/patient patient/Observation.read"


async def test_offline_access_is_announced_and_can_be_declined(browser: httpx.AsyncClient, store: AuthStore) -> None:
    page = await consent_page(browser, "pat", "pat-password", scope="launch/patient patient/Patient.rs offline_access")
    assert "Keep access when you are offline (until you revoke it)" in page.text
    assert "Offline access:" in page.text
    offline = checkboxes(page.text)[-1]
    grant = await granted(store, await approve(browser, page, untick=(offline,)))
    assert "offline_access" not in grant.scope.split()


async def test_form_fields_cannot_add_scopes(browser: httpx.AsyncClient, store: AuthStore) -> None:
    page = await consent_page(browser, "pat", "pat-password", scope="launch/patient patient/Patient.rs")
    form = {"csrf_token": hidden(page.text, "csrf_token"), "pending": hidden(page.text, "pending")}
    form |= {"decision": "approve", "scope-1": "on", "scope-9": "on", "scope": "patient/*.cruds"}
    grant = await granted(store, await post_form(browser, "/auth/consent", form))
    assert grant.scope == "launch/patient patient/Patient.rs"


# ---- CSRF and tampering ---------------------------------------------------------------------------------


async def test_consent_without_csrf_token_is_refused(browser: httpx.AsyncClient) -> None:
    page = await consent_page(browser, "pat", "pat-password")
    form = {"pending": hidden(page.text, "pending"), "decision": "approve"}
    response = await post_form(browser, "/auth/consent", form)
    assert response.status_code == 400
    assert "location" not in response.headers


async def test_consent_with_a_wrong_csrf_token_is_refused(browser: httpx.AsyncClient) -> None:
    page = await consent_page(browser, "pat", "pat-password")
    form = {"csrf_token": "A" * 43, "pending": hidden(page.text, "pending"), "decision": "approve"}
    response = await post_form(browser, "/auth/consent", form)
    assert response.status_code == 403
    assert "location" not in response.headers


async def test_login_without_csrf_token_is_refused(browser: httpx.AsyncClient) -> None:
    response = await post_form(browser, "/auth/login", {"username": "pat", "password": "pat-password"})
    assert response.status_code == 400
    assert "novamind_session" not in response.headers.get("set-cookie", "")


async def test_csrf_token_of_another_browser_is_refused(app: FastAPI, browser: httpx.AsyncClient) -> None:
    page = await consent_page(browser, "pat", "pat-password")
    form = {
        "csrf_token": hidden(page.text, "csrf_token"),
        "pending": hidden(page.text, "pending"),
        "decision": "approve",
    }
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as other:
        await consent_page(other, "pat", "pat-password")  # signed in too, with its own session
        response = await post_form(other, "/auth/consent", form)
    assert response.status_code == 403


async def test_tampered_pending_request_is_refused(browser: httpx.AsyncClient) -> None:
    page = await consent_page(browser, "pat", "pat-password")
    payload, _, mac = hidden(page.text, "pending").partition(".")
    form = {"csrf_token": hidden(page.text, "csrf_token"), "pending": f"{payload}x.{mac}", "decision": "approve"}
    response = await post_form(browser, "/auth/consent", form)
    assert response.status_code == 400
    assert "location" not in response.headers


# ---- standalone launch/patient ------------------------------------------------------------------------------


async def test_patient_user_gets_their_own_patient(browser: httpx.AsyncClient, store: AuthStore) -> None:
    page = await consent_page(browser, "pat", "pat-password")
    assert "Pick" not in page.text
    grant = await granted(store, await approve(browser, page))
    assert grant.context.patient == "p1"


async def test_clinician_gets_the_patient_picker(browser: httpx.AsyncClient) -> None:
    response = await browser.get("/auth/authorize", params=authorize_params())
    signed_in = await sign_in(browser, response, "dr", "dr-password")
    consent = await browser.get(signed_in.headers["location"])
    assert consent.status_code == 303
    assert consent.headers["location"].startswith("/auth/patient-picker?")
    picker = await browser.get(consent.headers["location"])
    assert picker.status_code == 200
    for text in ("Pat Example", "1980-02-03", "p1", "Olive Other", "1975-06-07", "p2"):
        assert text in picker.text


async def test_patient_picker_searches_by_name(browser: httpx.AsyncClient) -> None:
    response = await browser.get("/auth/authorize", params=authorize_params())
    signed_in = await sign_in(browser, response, "dr", "dr-password")
    picker_url = (await browser.get(signed_in.headers["location"])).headers["location"]
    picker = await browser.get(picker_url + "&name=olive")
    assert "Olive Other" in picker.text
    assert "Pat Example" not in picker.text


async def test_patient_chosen_in_the_picker_goes_into_the_grant(browser: httpx.AsyncClient, store: AuthStore) -> None:
    response = await browser.get("/auth/authorize", params=authorize_params())
    signed_in = await sign_in(browser, response, "dr", "dr-password")
    picker = await browser.get((await browser.get(signed_in.headers["location"])).headers["location"])
    form = {"csrf_token": hidden(picker.text, "csrf_token"), "pending": hidden(picker.text, "pending"), "patient": "p2"}
    chosen = await post_form(browser, "/auth/patient-picker", form)
    assert chosen.status_code == 303
    page = await browser.get(chosen.headers["location"])
    assert "this patient’s observations" in page.text
    assert "Olive Other" in page.text
    grant = await granted(store, await approve(browser, page))
    assert (grant.username, grant.context.patient) == ("dr", "p2")


async def test_picker_refuses_an_unknown_patient(browser: httpx.AsyncClient) -> None:
    response = await browser.get("/auth/authorize", params=authorize_params())
    signed_in = await sign_in(browser, response, "dr", "dr-password")
    picker = await browser.get((await browser.get(signed_in.headers["location"])).headers["location"])
    form = {"csrf_token": hidden(picker.text, "csrf_token"), "pending": hidden(picker.text, "pending"), "patient": "p9"}
    assert (await post_form(browser, "/auth/patient-picker", form)).status_code == 400


async def test_consent_before_a_patient_is_chosen_goes_back_to_the_picker(browser: httpx.AsyncClient) -> None:
    response = await browser.get("/auth/authorize", params=authorize_params())
    signed_in = await sign_in(browser, response, "dr", "dr-password")
    picker = await browser.get((await browser.get(signed_in.headers["location"])).headers["location"])
    form = {"csrf_token": hidden(picker.text, "csrf_token"), "pending": hidden(picker.text, "pending")}
    response = await post_form(browser, "/auth/consent", form | {"decision": "approve"})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/auth/patient-picker?")


# ---- EHR launch --------------------------------------------------------------------------------------------


async def test_ehr_launch_context_goes_into_the_grant(browser: httpx.AsyncClient, store: AuthStore) -> None:
    context = LaunchContext(patient="p2", encounter="e1", fhir_context=({"reference": "Observation/o1"},))
    handle = await store.mint_launch("app", "dr", context)
    page = await consent_page(browser, "dr", "dr-password", scope="launch openid fhirUser patient/*.rs", launch=handle)
    grant = await granted(store, await approve(browser, page))
    assert grant.context == context
    assert grant.scope == "launch openid fhirUser patient/*.rs"


async def test_unknown_launch_handle_is_refused(browser: httpx.AsyncClient) -> None:
    params = authorize_params(scope="launch patient/*.rs", launch="not-a-handle")
    query = client_redirect(await browser.get("/auth/authorize", params=params))
    assert query["error"] == "invalid_request"
    assert "launch" in query["error_description"]


async def test_reused_launch_handle_is_refused(browser: httpx.AsyncClient, store: AuthStore) -> None:
    handle = await store.mint_launch("app", None, LaunchContext(patient="p1"))
    params = authorize_params(scope="launch patient/*.rs", launch=handle)
    first = await browser.get("/auth/authorize", params=params)
    assert first.status_code == 303
    assert client_redirect(await browser.get("/auth/authorize", params=params))["error"] == "invalid_request"


async def test_launch_handle_of_another_client_is_refused(browser: httpx.AsyncClient, store: AuthStore) -> None:
    handle = await store.mint_launch("two", None, LaunchContext(patient="p1"))
    params = authorize_params(scope="launch patient/*.rs", launch=handle)
    assert client_redirect(await browser.get("/auth/authorize", params=params))["error"] == "invalid_request"


async def test_launch_scope_without_a_launch_handle_is_refused(browser: httpx.AsyncClient) -> None:
    params = authorize_params(scope="launch patient/*.rs")
    assert client_redirect(await browser.get("/auth/authorize", params=params))["error"] == "invalid_request"


async def test_launch_bound_to_a_user_refuses_another_user(browser: httpx.AsyncClient, store: AuthStore) -> None:
    handle = await store.mint_launch("app", "dr", LaunchContext(patient="p1"))
    response = await browser.get("/auth/authorize", params=authorize_params(scope="launch patient/*.rs", launch=handle))
    refused = await sign_in(browser, response, "nurse", "nurse-password")
    assert refused.status_code == 403
    assert "novamind_session" not in refused.headers.get("set-cookie", "")


async def test_launch_bound_to_a_user_asks_a_signed_in_other_user_to_sign_in_again(
    browser: httpx.AsyncClient, store: AuthStore
) -> None:
    await consent_page(browser, "nurse", "nurse-password")
    handle = await store.mint_launch("app", "dr", LaunchContext(patient="p1"))
    response = await browser.get("/auth/authorize", params=authorize_params(scope="launch patient/*.rs", launch=handle))
    assert response.status_code == 303
    assert response.headers["location"].startswith("/auth/login?")


async def test_patient_user_cannot_complete_a_launch_for_another_patient(
    browser: httpx.AsyncClient, store: AuthStore
) -> None:
    handle = await store.mint_launch("app", None, LaunchContext(patient="p2"))
    response = await browser.get("/auth/authorize", params=authorize_params(scope="launch patient/*.rs", launch=handle))
    signed_in = await sign_in(browser, response, "pat", "pat-password")
    query = client_redirect(await browser.get(signed_in.headers["location"]))
    assert query["error"] == "access_denied"


# ---- audit ------------------------------------------------------------------------------------------------


async def audit_rows(app: FastAPI) -> list[Any]:
    services = app.state.services
    await services.audit.flush()
    async with services.repository.engine.connect() as conn:
        return list(await conn.execute(select(audit_event).order_by(audit_event.c.pk)))


async def test_failed_login_is_audited_without_the_password(app: FastAPI, browser: httpx.AsyncClient) -> None:
    response = await browser.get("/auth/authorize", params=authorize_params())
    await sign_in(browser, response, "pat", "wrong-secret-pw")
    row = (await audit_rows(app))[-1]
    assert (row.kind, row.outcome, row.subject) == ("login", "4", "pat")
    assert b"wrong-secret-pw" not in row.content


async def test_issued_code_is_audited_with_client_user_and_patient(app: FastAPI, browser: httpx.AsyncClient) -> None:
    page = await consent_page(browser, "pat", "pat-password")
    code = client_redirect(await approve(browser, page))["code"]
    row = (await audit_rows(app))[-1]
    assert (row.kind, row.outcome, row.client_id, row.subject) == ("login", "0", "app", "pat")
    assert b"Patient/p1" in row.content
    assert code.encode() not in row.content


async def test_signing_out_ends_the_session(browser: httpx.AsyncClient) -> None:
    page = await browser.get("/auth/login")
    form = {"csrf_token": hidden(page.text, "csrf_token"), "username": "pat", "password": "pat-password"}
    signed_in = await post_form(browser, "/auth/login", form)
    assert signed_in.status_code == 200, signed_in.text
    signed_out = await post_form(browser, "/auth/logout", {"csrf_token": hidden(signed_in.text, "csrf_token")})
    assert signed_out.status_code == 200
    again = await browser.get("/auth/authorize", params=authorize_params())
    assert again.status_code == 303
    assert again.headers["location"].startswith("/auth/login?")


async def test_signing_out_needs_the_csrf_token(browser: httpx.AsyncClient) -> None:
    assert (await post_form(browser, "/auth/logout", {})).status_code == 400
