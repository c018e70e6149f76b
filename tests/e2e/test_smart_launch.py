"""End to end: SMART App Launch 2.2 with the real `fhirclient` library against a running `novamind serve`.

The app side is exactly what a fhirclient user writes (`FHIRClient(settings=…)`, `authorize_url`,
`handle_callback`, models' `read`/`where`, `reauthorize`); the person side is a tiny browser that follows
redirects, keeps cookies and submits the login and consent forms as they are served (hidden fields, CSRF
token and all), so the pages are exercised the way people use them, not through the store.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from fhirclient import client as smart_client
from fhirclient.models.observation import Observation
from fhirclient.models.patient import Patient
from fhirclient.server import FHIRNotFoundException, FHIRPermissionDeniedException
from jose import jwt

from tests.e2e.conftest import RunningServer, _free_port, novamind, script_token

pytestmark = pytest.mark.e2e

PASSWORD = "a long enough password"
APP_SCOPE = "launch/patient openid fhirUser offline_access patient/*.rs"
EHR_APP_SCOPE = "launch openid fhirUser patient/*.rs"


# ---- a browser that fills in forms ------------------------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)  # what the browser sends as served
    buttons: list[tuple[str, str]] = field(default_factory=list)
    checkboxes: list[str] = field(default_factory=list)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get").lower()))
        elif not self.forms:
            return
        elif tag == "input":
            kind, name = a.get("type", "text").lower(), a.get("name", "")
            if not name:
                return
            if kind in ("checkbox", "radio"):
                self.forms[-1].checkboxes.append(name)
                if "checked" in a:
                    self.forms[-1].fields.append((name, a.get("value", "on")))
            elif kind == "submit":
                self.forms[-1].buttons.append((name, a.get("value", "")))
            else:
                self.forms[-1].fields.append((name, a.get("value", "")))
        elif tag == "button" and a.get("name"):
            self.forms[-1].buttons.append((a["name"], a.get("value", "")))


class Browser:
    """Cookies, redirects within the server, and form submission; stops at the app's redirect URI."""

    def __init__(self, app_redirect: str) -> None:
        self.http = httpx.Client(timeout=30)
        self.app_redirect = app_redirect
        self.page: httpx.Response | None = None

    def close(self) -> None:
        self.http.close()

    def go(self, url: str) -> str | None:
        """Open `url`; the app callback URL if the server sends the browser there, else None (a page is shown)."""
        return self._follow(self.http.get(url))

    def submit(
        self,
        *,
        values: dict[str, str] | None = None,
        button: str | None = None,
        drop: frozenset[str] = frozenset(),
        method: str = "post",
    ) -> str | None:
        """Submit the page's form: served fields, `values` typed in, boxes in `drop` unticked, `button` pressed."""
        assert self.page is not None
        forms = [f for f in self.forms() if f.method == method]
        assert len(forms) == 1, self.page.text
        form = forms[0]
        typed = dict(values or {})
        sent = [(k, typed.pop(k) if k in typed else v) for k, v in form.fields if k not in drop]
        sent += list(typed.items())
        if button is not None:
            sent += [b for b in form.buttons if b[1] == button]
        url = urljoin(str(self.page.url), form.action)
        if method == "get":
            return self._follow(self.http.get(url, params=dict(sent)))
        return self._follow(self.http.post(url, data=dict(sent)))

    def forms(self) -> list[Form]:
        assert self.page is not None
        parser = _FormParser()
        parser.feed(self.page.text)
        return parser.forms

    def _follow(self, response: httpx.Response) -> str | None:
        for _ in range(10):
            if response.status_code not in (301, 302, 303, 307, 308):
                self.page = response
                return None
            target = urljoin(str(response.url), response.headers["location"])
            if target.startswith(self.app_redirect):
                return target
            response = self.http.get(target)
        raise AssertionError("too many redirects")


# ---- the world the app meets ------------------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    server: RunningServer
    app_id: str
    redirect: str
    alice: str  # patient user, linked to Patient `alice_patient`
    alice_patient: str
    bob_patient: str  # another patient, with data alice must never see
    alice_observations: int
    clinician: str

    @property
    def base(self) -> str:
        return self.server.base


def _cli_with_password(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "fhir_server.cli", *args, "--password-stdin"],
        input=PASSWORD + "\n",
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _observation(patient: str, value: int) -> dict[str, object]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "survey"}]}
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "valueQuantity": {"value": value, "system": "http://unitsofmeasure.org", "code": "{score}"},
    }


@pytest.fixture(scope="module")
def world(running: RunningServer) -> World:
    """A public app, two patients with data (one of them a user) and a clinician, all set up with the CLI."""
    tag = uuid.uuid4().hex[:8]
    alice_patient, bob_patient = f"alice-{tag}", f"bob-{tag}"
    headers = {"Authorization": f"Bearer {script_token(running.base, running.args)}"}
    with httpx.Client(base_url=running.base, headers=headers, timeout=30) as fhir:
        for pid, family in ((alice_patient, "Alison"), (bob_patient, "Roberts")):
            patient = {"resourceType": "Patient", "id": pid, "name": [{"family": family, "given": [pid]}]}
            fhir.put(f"/Patient/{pid}", json=patient).raise_for_status()
        for value in range(3):
            fhir.post("/Observation", json=_observation(alice_patient, value)).raise_for_status()
        fhir.post("/Observation", json=_observation(bob_patient, 99)).raise_for_status()
    # the app's callback never needs to answer: the browser stops at it and hands the URL to the app
    redirect = f"http://127.0.0.1:{_free_port()}/callback"
    app_id = f"growth-{tag}"
    novamind(
        "clients", "add", app_id, "--kind", "public", "--redirect-uri", redirect, "--scope", APP_SCOPE, *running.args
    )
    alice, clinician = f"alice{tag}", f"drnova{tag}"
    _cli_with_password("users", "add", alice, "--patient", alice_patient, *running.args)
    _cli_with_password(
        "users", "add", clinician, "--role", "psychiatrist", "--fhir-user", "Practitioner/p1", *running.args
    )
    return World(running, app_id, redirect, alice, alice_patient, bob_patient, 3, clinician)


@pytest.fixture
def browser(world: World) -> Iterator[Browser]:
    b = Browser(world.redirect)
    yield b
    b.close()


def _app(
    world: World, *, scope: str = APP_SCOPE, app_id: str | None = None, **settings: str
) -> smart_client.FHIRClient:
    return smart_client.FHIRClient(
        settings={
            "app_id": app_id or world.app_id,
            "api_base": world.base,
            "redirect_uri": world.redirect,
            "scope": scope,
            **settings,
        }
    )


def _sign_in_and_allow(browser: Browser, smart: smart_client.FHIRClient, username: str) -> str:
    """What the person does between `authorize_url` and the callback: sign in, then allow."""
    assert browser.go(smart.authorize_url) is None
    assert any(name == "password" for name, _ in browser.forms()[0].fields)
    assert browser.submit(values={"username": username, "password": PASSWORD}) is None
    callback = browser.submit(button="approve")
    assert callback is not None, browser.page.text if browser.page else ""
    return callback


def _launched(world: World, browser: Browser) -> smart_client.FHIRClient:
    smart = _app(world)
    smart.handle_callback(_sign_in_and_allow(browser, smart, world.alice))
    return smart


def _id_token_claims(world: World, id_token: str, audience: str) -> dict[str, object]:
    """The ID token verified as an app must: against the server's published JWKS, for this app and issuer."""
    config = httpx.get(f"{world.base}/.well-known/smart-configuration").json()
    jwks = httpx.get(config["jwks_uri"]).json()
    kid = jwt.get_unverified_header(id_token)["kid"]
    (key,) = [k for k in jwks["keys"] if k["kid"] == kid]
    return jwt.decode(id_token, key, algorithms=["RS256"], audience=audience, issuer=world.base)  # type: ignore[no-any-return]


# ---- standalone launch --------------------------------------------------------------------------------------


def test_authorize_url_comes_from_the_capability_statement_with_pkce_and_aud(world: World) -> None:
    smart = _app(world)
    url = urlsplit(smart.authorize_url)
    config = httpx.get(f"{world.base}/.well-known/smart-configuration").json()
    assert f"{url.scheme}://{url.netloc}{url.path}" == config["authorization_endpoint"]
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert query["aud"] == world.base
    assert query["code_challenge_method"] == "S256"
    assert query["client_id"] == world.app_id


def test_a_patient_signs_in_allows_and_the_app_gets_their_context(world: World, browser: Browser) -> None:
    smart = _launched(world, browser)
    assert smart.ready
    assert smart.patient_id == world.alice_patient
    assert smart.launch_context["token_type"].lower() == "bearer"
    assert set(smart.launch_context["scope"].split()) >= {"launch/patient", "patient/*.rs", "openid", "offline_access"}


def test_the_id_token_names_the_patient_as_fhir_user(world: World, browser: Browser) -> None:
    smart = _launched(world, browser)
    claims = _id_token_claims(world, smart.launch_context["id_token"], world.app_id)
    assert claims["fhirUser"] == f"{world.base}/Patient/{world.alice_patient}"
    assert claims["sub"] == world.alice


def test_the_app_reads_its_patient_and_searches_their_observations(world: World, browser: Browser) -> None:
    smart = _launched(world, browser)
    assert smart.patient is not None
    assert smart.patient.name[0].family == "Alison"
    found = list(Observation.where(struct={"patient": world.alice_patient}).perform_resources_iter(smart.server))
    assert len(found) == world.alice_observations
    assert {o.subject.reference for o in found} == {f"Patient/{world.alice_patient}"}


def test_a_search_without_a_patient_sees_only_the_patients_own_data(world: World, browser: Browser) -> None:
    smart = _launched(world, browser)
    found = list(Observation.where(struct={"code": "44261-6"}).perform_resources_iter(smart.server))
    assert found
    assert {o.subject.reference for o in found} == {f"Patient/{world.alice_patient}"}


def test_another_patients_record_is_refused(world: World, browser: Browser) -> None:
    smart = _launched(world, browser)
    with pytest.raises((FHIRNotFoundException, FHIRPermissionDeniedException)):
        Patient.read(world.bob_patient, smart.server)


def test_another_patients_observations_are_invisible_or_refused(world: World, browser: Browser) -> None:
    smart = _launched(world, browser)
    try:
        found = list(Observation.where(struct={"patient": world.bob_patient}).perform_resources_iter(smart.server))
    except (FHIRNotFoundException, FHIRPermissionDeniedException):
        return
    assert found == []


def test_reauthorize_refreshes_the_access_token_and_keeps_the_context(world: World, browser: Browser) -> None:
    smart = _launched(world, browser)
    first_access, first_refresh = smart.server.auth.access_token, smart.server.auth.refresh_token
    assert first_refresh
    assert smart.reauthorize()
    assert smart.server.auth.access_token != first_access
    assert smart.server.auth.refresh_token != first_refresh  # rotated
    assert smart.launch_context["patient"] == world.alice_patient
    assert Patient.read(world.alice_patient, smart.server).id == world.alice_patient


def test_a_rotated_out_refresh_token_is_refused(world: World, browser: Browser) -> None:
    smart = _launched(world, browser)
    old_refresh = smart.server.auth.refresh_token
    assert smart.reauthorize()
    replay = httpx.post(
        smart.server.auth._token_uri,
        data={"grant_type": "refresh_token", "refresh_token": old_refresh, "client_id": world.app_id},
    )
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"


def test_unticking_observations_on_the_consent_page_withholds_them(world: World, browser: Browser) -> None:
    smart = _app(world, scope="launch/patient openid fhirUser patient/Patient.rs patient/Observation.rs")
    assert browser.go(smart.authorize_url) is None
    assert browser.submit(values={"username": world.alice, "password": PASSWORD}) is None
    observation_box = _consent_box(browser, "Observation")
    callback = browser.submit(button="approve", drop=frozenset({observation_box}))
    assert callback is not None
    smart.handle_callback(callback)
    assert "patient/Observation.rs" not in smart.launch_context["scope"].split()
    assert smart.patient is not None
    with pytest.raises(FHIRPermissionDeniedException):
        list(Observation.where(struct={"patient": world.alice_patient}).perform_resources_iter(smart.server))


def _consent_box(browser: Browser, resource_type: str) -> str:
    """The checkbox the consent page labels with `resource_type` (as a person reads it)."""
    assert browser.page is not None
    for line in browser.page.text.splitlines():
        if 'type="checkbox"' in line and resource_type.lower() in line.lower():
            return line.split('name="', 1)[1].split('"', 1)[0]
    raise AssertionError(f"no {resource_type} checkbox on the consent page:\n{browser.page.text}")


def test_denying_consent_sends_the_app_access_denied(world: World, browser: Browser) -> None:
    smart = _app(world)
    assert browser.go(smart.authorize_url) is None
    assert browser.submit(values={"username": world.alice, "password": PASSWORD}) is None
    callback = browser.submit(button="deny")
    assert callback is not None
    query = parse_qs(urlsplit(callback).query)
    assert query["error"] == ["access_denied"]
    assert query["state"] == [smart.server.auth.auth_state]
    with pytest.raises(Exception, match="denied"):
        smart.handle_callback(callback)


def test_a_wrong_password_keeps_the_person_on_the_login_page(world: World, browser: Browser) -> None:
    smart = _app(world)
    assert browser.go(smart.authorize_url) is None
    assert browser.submit(values={"username": world.alice, "password": "not the password"}) is None
    assert browser.page is not None and browser.page.status_code == 401
    assert any(name == "password" for name, _ in browser.forms()[0].fields)


def test_a_clinician_picks_the_patient_in_a_standalone_launch(world: World, browser: Browser) -> None:
    smart = _app(world)
    assert browser.go(smart.authorize_url) is None
    assert browser.submit(values={"username": world.clinician, "password": PASSWORD}) is None
    assert browser.submit(values={"name": "Roberts"}, method="get") is None  # the picker's search
    assert browser.page is not None and world.bob_patient in browser.page.text
    assert browser.submit(values={"patient": world.bob_patient}) is None
    callback = browser.submit(button="approve")
    assert callback is not None
    smart.handle_callback(callback)
    assert smart.patient_id == world.bob_patient
    assert smart.patient is not None and smart.patient.name[0].family == "Roberts"


# ---- EHR launch ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ehr:
    app_id: str
    token: str


@pytest.fixture(scope="module")
def ehr(world: World) -> Ehr:
    """An EHR allowed to mint launches (its own token from `novamind token`), and an app it launches."""
    tag = uuid.uuid4().hex[:8]
    ehr_id, app_id = f"ehr-{tag}", f"embedded-{tag}"
    args = world.server.args
    novamind("clients", "add", ehr_id, "--kind", "public", "--redirect-uri", "http://127.0.0.1/ehr", "--can-launch",
             "--scope", "system/Patient.rs", *args)  # fmt: skip
    port = world.base.split(":")[-1].split("/")[0]
    token = novamind("token", "--client-id", ehr_id, "--scope", "system/Patient.rs", "--port", port, *args).strip()
    novamind("clients", "add", app_id, "--kind", "public", "--redirect-uri", world.redirect, "--scope", EHR_APP_SCOPE,
             *args)  # fmt: skip
    return Ehr(app_id, token)


def _mint_launch(world: World, ehr: Ehr, **body: object) -> str:
    r = httpx.post(
        f"{world.base.removesuffix('/fhir')}/auth/launch",
        json={"client_id": ehr.app_id, **body},
        headers={"Authorization": f"Bearer {ehr.token}"},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["launch"])


def test_an_ehr_launch_hands_the_app_the_ehrs_patient(world: World, ehr: Ehr, browser: Browser) -> None:
    handle = _mint_launch(world, ehr, patient=world.bob_patient, username=world.clinician)
    smart = _app(world, app_id=ehr.app_id, scope="openid fhirUser patient/*.rs", launch_token=handle)
    assert "launch" in smart.desired_scope.split()
    smart.handle_callback(_sign_in_and_allow(browser, smart, world.clinician))
    assert smart.patient_id == world.bob_patient
    assert smart.launch_context["need_patient_banner"] is True
    assert smart.patient is not None and smart.patient.name[0].family == "Roberts"
    claims = _id_token_claims(world, smart.launch_context["id_token"], ehr.app_id)
    assert claims["fhirUser"] == f"{world.base}/Practitioner/p1"


def test_an_ehr_launch_token_confines_the_app_to_that_patient(world: World, ehr: Ehr, browser: Browser) -> None:
    handle = _mint_launch(world, ehr, patient=world.bob_patient, username=world.clinician)
    smart = _app(world, app_id=ehr.app_id, scope="openid fhirUser patient/*.rs", launch_token=handle)
    smart.handle_callback(_sign_in_and_allow(browser, smart, world.clinician))
    with pytest.raises((FHIRNotFoundException, FHIRPermissionDeniedException)):
        Patient.read(world.alice_patient, smart.server)


def test_a_launch_handle_is_single_use(world: World, ehr: Ehr, browser: Browser) -> None:
    handle = _mint_launch(world, ehr, patient=world.bob_patient)
    first = _app(world, app_id=ehr.app_id, scope="openid fhirUser patient/*.rs", launch_token=handle)
    first.handle_callback(_sign_in_and_allow(browser, first, world.clinician))
    again = _app(world, app_id=ehr.app_id, scope="openid fhirUser patient/*.rs", launch_token=handle)
    callback = browser.go(again.authorize_url)
    assert callback is not None
    assert parse_qs(urlsplit(callback).query)["error"] == ["invalid_request"]


def test_only_a_client_registered_to_launch_may_mint(world: World) -> None:
    token = script_token(world.base, world.server.args, scope="system/Patient.rs")
    r = httpx.post(
        f"{world.base.removesuffix('/fhir')}/auth/launch",
        json={"client_id": world.app_id, "patient": world.alice_patient},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 403
