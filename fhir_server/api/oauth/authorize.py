"""The authorization endpoint and the pages a person sees on the way to a code: login, patient picker, consent.

`GET|POST /auth/authorize` checks the client and its exact redirect URI first (failures are a page, never a
redirect), then the rest of the request (failures are redirected with the `state` echoed), redeems an EHR
launch handle, and hands the browser a signed `PendingAuthorization` (see `fhir_server.auth.authorize_request`
for why it is carried rather than stored). Every later step verifies that signature, who is signed in, and a
CSRF token, so the same checks guard each page whichever order a browser visits them in:

    authorize ─► login (no session, or not the user the launch is for) ─► patient picker (a clinician with
    `launch/patient` and no patient yet) ─► consent ─► redirect_uri?code=…&state=…

Pages are served with `Cache-Control: no-store`, may not be framed (the consent button must not be
clickjacked), and send no Referer (their URLs carry the pending request).

https://hl7.org/fhir/smart-app-launch/app-launch.html#obtain-authorization-code
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from fhir_server.api.deps import Services, services
from fhir_server.audit.records import AuditKind, AuditOutcome, AuditRecord
from fhir_server.auth.authorize_request import (
    AccessDenied,
    ExpiredPendingError,
    PendingAuthorization,
    UnsafeRequestError,
    collect,
    resolve_redirect_uri,
    validate,
)
from fhir_server.auth.components import AuthComponents
from fhir_server.auth.consent import apply_choices, describe, offers_offline_access
from fhir_server.auth.csrf import CsrfError, CsrfGuard, SignedCodec, TamperedError, load_or_create_secret
from fhir_server.auth.errors import InvalidRequest, OAuthError
from fhir_server.auth.records import AuthorizationGrant, LaunchContext, User
from fhir_server.auth.scopes import parse_scopes
from fhir_server.errors import FhirError
from fhir_server.search.params import parse_search
from fhir_server.storage.search_sql import build_search

router = APIRouter(prefix="/auth", tags=["SMART authorization"])

SESSION_COOKIE = "novamind_session"
BROWSER_COOKIE = "novamind_browser"
PICKER_LIMIT = 25
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}
_FORM_TYPE = "application/x-www-form-urlencoded"


class PageError(Exception):
    """A failure shown to the person in the browser (never redirected to the client)."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


@dataclass(frozen=True, slots=True)
class BrowserKit:
    """What the pages need besides the store: templates, the CSRF guard, and the pending-request codec."""

    pages: Environment
    csrf: CsrfGuard
    pending: SignedCodec

    @classmethod
    def open(cls, svc: Services) -> BrowserKit:
        secret = load_or_create_secret(svc.settings.resolved_keys_dir())
        pages = Environment(
            loader=PackageLoader("fhir_server.auth", "templates"),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        return cls(pages, CsrfGuard(secret), SignedCodec(secret, "pending-authorization"))


def browser_kit(request: Request) -> BrowserKit:
    """The app's kit, made by the composition root (`create_app`)."""
    kit = request.app.state.browser_kit
    assert isinstance(kit, BrowserKit)
    return kit


def _auth(request: Request) -> AuthComponents:
    return services(request).auth


# ---- endpoints -----------------------------------------------------------------------------------------


@router.get("/authorize")
async def authorize_get(request: Request) -> Response:
    return await _guarded(request, lambda: _authorize(request, request.query_params.multi_items()))


@router.post("/authorize")
async def authorize_post(request: Request) -> Response:
    async def run() -> Response:
        return await _authorize(request, await _form_pairs(request))

    return await _guarded(request, run)


@router.get("/login")
async def login_page(request: Request) -> Response:
    async def run() -> Response:
        blob = request.query_params.get("pending")
        pending = _load_pending(request, blob) if blob else None
        return await _login_form(request, pending, blob, error=None, username="", status=200)

    return await _guarded(request, run)


@router.post("/login")
async def login_submit(request: Request) -> Response:
    return await _guarded(request, lambda: _login(request))


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the sign-in session: the cookie goes, and so do the session's `online_access` refresh tokens."""

    async def run() -> Response:
        _check_csrf(request, dict(await _form_pairs(request)))
        session_id = request.cookies.get(SESSION_COOKIE)
        user = await _session_user(request)
        if session_id:
            await _auth(request).store.end_session(session_id)
        if user is not None:
            _audit(request, "login", AuditOutcome.SUCCESS, "signed out", user=user)
        response = _page(request, "signed_out.html", 200)
        response.delete_cookie(SESSION_COOKIE, path="/auth")
        return response

    return await _guarded(request, run)


@router.get("/patient-picker")
async def picker_page(request: Request) -> Response:
    return await _guarded(request, lambda: _picker(request))


@router.post("/patient-picker")
async def picker_submit(request: Request) -> Response:
    return await _guarded(request, lambda: _pick(request))


@router.get("/consent")
async def consent_page(request: Request) -> Response:
    async def run() -> Response:
        return await _proceed(request, _load_pending(request, request.query_params.get("pending")))

    return await _guarded(request, run)


@router.post("/consent")
async def consent_submit(request: Request) -> Response:
    return await _guarded(request, lambda: _decide(request))


# ---- the authorization request ----------------------------------------------------------------------


async def _authorize(request: Request, pairs: list[tuple[str, str]]) -> Response:
    auth = _auth(request)
    params, repeated = collect(pairs)
    client = await auth.store.client(params["client_id"]) if params.get("client_id") else None
    try:
        redirect_uri = resolve_redirect_uri(params, repeated, client.redirect_uris if client else None)
    except UnsafeRequestError as exc:
        _audit(request, "authorize", AuditOutcome.MINOR_FAILURE, str(exc), client_id=params.get("client_id"))
        raise PageError(400, "This app's request cannot be accepted", str(exc)) from exc
    assert client is not None  # resolve_redirect_uri refuses unknown clients
    try:
        valid = validate(
            params,
            repeated,
            redirect_uri=redirect_uri,
            client_scope=client.scope,
            audience=services(request).settings.base_url(),
        )
        launch_user, context = await _redeem_launch(auth, valid.launch, valid.client_id)
    except OAuthError as exc:
        _audit(
            request,
            "authorize",
            AuditOutcome.MINOR_FAILURE,
            f"{exc.error}: {exc.description}",
            client_id=client.client_id,
        )
        return _to_client(redirect_uri, {"error": exc.error, "error_description": exc.description}, params.get("state"))
    pending = PendingAuthorization.start(valid, context, launch_user, now=auth.clock().timestamp())
    return await _proceed(request, pending)


async def _redeem_launch(auth: AuthComponents, handle: str | None, client_id: str) -> tuple[str | None, LaunchContext]:
    if handle is None:
        return None, LaunchContext()
    taken = await auth.store.take_launch(handle, client_id)
    if taken is None:
        raise InvalidRequest("The launch parameter is unknown, expired, already used, or for another app.")
    return taken


async def _proceed(request: Request, pending: PendingAuthorization) -> Response:
    """Send the browser to the next page the pending request needs, or show the consent page."""
    user = await _session_user(request)
    if user is None or (pending.launch_user is not None and user.username != pending.launch_user):
        return _see_other("/auth/login", pending=_dump(request, pending))
    if pending.username is not None and pending.username != user.username:
        raise PageError(403, "Signed in as someone else", "The signed-in user changed; start again from the app.")
    try:
        pending = _with_own_patient(pending.for_user(user.username), user)
    except AccessDenied as exc:
        return _deny(request, pending, exc)
    if pending.needs_patient:
        return _see_other("/auth/patient-picker", pending=_dump(request, pending))
    return await _consent_form(request, pending, user)


def _with_own_patient(pending: PendingAuthorization, user: User) -> PendingAuthorization:
    """Patients always act on their own record; clinicians choose one; anyone else cannot pick a patient."""
    if user.patient_id is not None:
        if pending.context.patient not in (None, user.patient_id):
            raise AccessDenied("This launch is for another patient's record.")
        return pending.with_patient(user.patient_id)
    if pending.needs_patient and user.role is None:
        raise AccessDenied("No patient record is linked to this account.")
    return pending


# ---- login ------------------------------------------------------------------------------------------


async def _login(request: Request) -> Response:
    form = dict(await _form_pairs(request))
    _check_csrf(request, form)
    blob = form.get("pending") or None
    pending = _load_pending(request, blob) if blob else None
    username = form.get("username", "")
    user = await _auth(request).store.authenticate(username, form.get("password", ""))
    if user is None:
        _audit(request, "login", AuditOutcome.MINOR_FAILURE, "wrong username or password", subject=username[:128])
        return await _login_form(request, pending, blob, "The username or password is incorrect.", username, 401)
    if pending is not None and pending.launch_user not in (None, user.username):
        message = "This launch was started for another user; sign in as that user."
        _audit(request, "login", AuditOutcome.MINOR_FAILURE, message, user=user)
        return await _login_form(request, pending, blob, message, username, 403)
    _audit(request, "login", AuditOutcome.SUCCESS, None, user=user)
    store = _auth(request).store
    if old := request.cookies.get(SESSION_COOKIE):
        await store.end_session(old)
    session_id = await store.start_session(user.username)
    if pending is None:
        csrf_token = browser_kit(request).csrf.token_for(session_id)
        response: Response = _page(
            request, "signed_in.html", 200, display_name=user.display_name, csrf_token=csrf_token
        )
    else:  # whoever signs in now is the one who approves (a launch bound to a user was checked above)
        response = _see_other("/auth/consent", pending=_dump(request, pending.for_user(user.username)))
    _set_cookie(request, response, SESSION_COOKIE, session_id, max_age=services(request).settings.session_seconds)
    return response


async def _login_form(
    request: Request,
    pending: PendingAuthorization | None,
    blob: str | None,
    error: str | None,
    username: str,
    status: int,
) -> Response:
    client = await _auth(request).store.client(pending.request.client_id) if pending else None
    return _form_page(
        request,
        "login.html",
        status,
        app_name=client.name if client else None,
        launch_user=pending.launch_user if pending else None,
        pending=blob,
        error=error,
        username=username,
    )


# ---- patient picker -----------------------------------------------------------------------------------


async def _picker(request: Request) -> Response:
    blob = request.query_params.get("pending")
    pending = _load_pending(request, blob)
    user = await _picking_user(request, pending)
    if user is None:
        return await _proceed(request, pending)
    name = request.query_params.get("name", "").strip()
    client = await _auth(request).store.client(pending.request.client_id)
    patients = await _find_patients(services(request), name)
    return _form_page(
        request,
        "patient_picker.html",
        200,
        app_name=client.name if client else pending.request.client_id,
        pending=blob,
        name=name,
        patients=patients,
    )


async def _pick(request: Request) -> Response:
    form = dict(await _form_pairs(request))
    _check_csrf(request, form)
    pending = _load_pending(request, form.get("pending"))
    if await _picking_user(request, pending) is None:
        return await _proceed(request, pending)
    chosen = form.get("patient", "")
    if not chosen or await _patient_summary(services(request), chosen) is None:
        raise PageError(400, "Unknown patient", "Choose a patient from the list.")
    return _see_other("/auth/consent", pending=_dump(request, pending.with_patient(chosen)))


async def _picking_user(request: Request, pending: PendingAuthorization) -> User | None:
    """The signed-in clinician who may choose the patient now, or None when the flow must go elsewhere."""
    user = await _session_user(request)
    if user is None or user.username != pending.username or not pending.needs_patient:
        return None
    if user.role is None or user.patient_id is not None:
        raise PageError(403, "Not allowed", "Only clinicians choose a patient.")
    return user


async def _find_patients(svc: Services, name: str) -> list[dict[str, str]]:
    pairs = [("_sort", "family")] + ([("name", name)] if name else [])
    try:
        query = parse_search(svc.registry, "Patient", pairs)
    except FhirError as exc:
        raise PageError(400, "Search not understood", exc.message) from exc
    async with svc.repository.unit_of_work(write=False) as uow:
        pks = [row[0] for row in await uow.conn.execute(build_search(query, svc.registry).limit(PICKER_LIMIT))]
        found = await uow.contents(pks)
    return [_summary(found[pk].content) for pk in pks if pk in found]


async def _patient_summary(svc: Services, patient_id: str) -> dict[str, str] | None:
    stored = await svc.repository.latest("Patient", patient_id)
    if stored is None or stored.deleted or stored.content is None:
        return None
    return _summary(stored.content)


def _summary(content: bytes | None) -> dict[str, str]:
    resource: dict[str, Any] = json.loads(content or b"{}")
    names = resource.get("name") or [{}]
    first = names[0]
    text = first.get("text") or " ".join([*first.get("given", []), first.get("family", "")]).strip()
    return {"id": resource.get("id", ""), "name": text or "(no name)", "birth_date": resource.get("birthDate", "")}


# ---- consent ------------------------------------------------------------------------------------------


async def _consent_form(request: Request, pending: PendingAuthorization, user: User) -> Response:
    svc = services(request)
    client = await _auth(request).store.client(pending.request.client_id)
    patient_id = pending.context.patient
    patient = await _patient_summary(svc, patient_id) if patient_id else None
    if patient_id and patient is None:
        patient = {"id": patient_id, "name": "(record not found)", "birth_date": ""}
    scopes = pending.request.scopes
    return _form_page(
        request,
        "consent.html",
        200,
        app_name=client.name if client else pending.request.client_id,
        display_name=user.display_name,
        patient=patient,
        patient_is_user=user.patient_id is not None,
        items=describe(scopes, patient_is_user=user.patient_id is not None),
        offline=offers_offline_access(scopes),
        pending=_dump(request, pending),
    )


async def _decide(request: Request) -> Response:
    form = dict(await _form_pairs(request))
    _check_csrf(request, form)
    pending = _load_pending(request, form.get("pending"))
    user = await _session_user(request)
    if user is None or user.username != pending.username or pending.needs_patient:
        return await _proceed(request, pending)
    valid = pending.request
    client = await _auth(request).store.client(valid.client_id)
    if client is None or valid.redirect_uri not in client.redirect_uris:
        raise PageError(400, "This app is no longer registered", "The app's registration changed; nothing was shared.")
    if form.get("decision") != "approve":
        return _deny(request, pending, AccessDenied("The user denied access."), user)
    # Cut again: the client's registration may have narrowed since the request was validated.
    granted = apply_choices(valid.scopes, {name for name, value in form.items() if value}).within(
        parse_scopes(client.scope)
    )
    if not granted:
        return _deny(request, pending, AccessDenied("The user allowed no access."), user)
    grant = AuthorizationGrant(
        client_id=valid.client_id,
        redirect_uri=valid.redirect_uri,
        code_challenge=valid.code_challenge,
        username=user.username,
        scope=granted.to_string(),
        context=pending.context,
        session_id=request.cookies.get(SESSION_COOKIE),
        nonce=valid.nonce,
    )
    code = await _auth(request).store.issue_code(grant)
    detail = f"code issued for scope {grant.scope}"
    _audit(request, "authorize", AuditOutcome.SUCCESS, detail, client_id=valid.client_id, user=user, pending=pending)
    return _to_client(valid.redirect_uri, {"code": code}, valid.state, status=303)


def _deny(request: Request, pending: PendingAuthorization, exc: OAuthError, user: User | None = None) -> Response:
    client_id = pending.request.client_id
    _audit(
        request,
        "authorize",
        AuditOutcome.MINOR_FAILURE,
        exc.description,
        client_id=client_id,
        user=user,
        pending=pending,
    )
    params = {"error": exc.error, "error_description": exc.description}
    return _to_client(pending.request.redirect_uri, params, pending.request.state, status=303)


# ---- plumbing ---------------------------------------------------------------------------------------------


async def _guarded(request: Request, step: Callable[[], Awaitable[Response]]) -> Response:
    """Run a page step, showing the person (not the client) what went wrong."""
    try:
        return await step()
    except PageError as exc:
        return _page(request, "error.html", exc.status, title=exc.title, message=exc.message)
    except CsrfError as exc:
        _audit(
            request,
            request.url.path.rsplit("/", 1)[-1],
            AuditOutcome.SERIOUS_FAILURE,
            str(exc),
            kind=AuditKind.SECURITY,
        )
        message = "The form expired or came from another site. Go back, reload the page and try again."
        return _page(request, "error.html", 400 if exc.missing else 403, title="Form check failed", message=message)


async def _form_pairs(request: Request) -> list[tuple[str, str]]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != _FORM_TYPE:
        raise PageError(400, "Unsupported request", f"Send the form as {_FORM_TYPE}.")
    try:
        return parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError as exc:
        raise PageError(400, "Unsupported request", "The form is not UTF-8.") from exc


def _check_csrf(request: Request, form: dict[str, str]) -> None:
    binding = request.cookies.get(SESSION_COOKIE) or request.cookies.get(BROWSER_COOKIE)
    browser_kit(request).csrf.check(binding, form.get("csrf_token"))


def _load_pending(request: Request, blob: str | None) -> PendingAuthorization:
    if not blob:
        raise PageError(400, "Nothing to continue", "Start again from the app you want to connect.")
    try:
        return PendingAuthorization.from_json(browser_kit(request).pending.loads(blob), now=_now(request))
    except TamperedError as exc:
        raise PageError(400, "This request was altered", "Start again from the app you want to connect.") from exc
    except ExpiredPendingError as exc:
        raise PageError(400, "This request expired", str(exc)) from exc
    except (KeyError, TypeError, ValueError) as exc:  # signed by us, yet not a pending request
        raise PageError(400, "This request is not valid", "Start again from the app you want to connect.") from exc


def _dump(request: Request, pending: PendingAuthorization) -> str:
    return browser_kit(request).pending.dumps(pending.to_json())


def _now(request: Request) -> float:
    return _auth(request).clock().timestamp()


async def _session_user(request: Request) -> User | None:
    session_id = request.cookies.get(SESSION_COOKIE)
    return await _auth(request).store.session_user(session_id) if session_id else None


def _page(request: Request, template: str, status: int, **values: Any) -> HTMLResponse:
    html = browser_kit(request).pages.get_template(template).render(**values)
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


def _form_page(request: Request, template: str, status: int, **values: Any) -> HTMLResponse:
    """A page with a POST form: its CSRF token is bound to the session, or to a pre-login browser cookie."""
    binding = request.cookies.get(SESSION_COOKIE) or request.cookies.get(BROWSER_COOKIE)
    fresh = None
    if not binding:
        binding = fresh = secrets.token_urlsafe(32)
    response = _page(request, template, status, csrf_token=browser_kit(request).csrf.token_for(binding), **values)
    if fresh is not None:
        _set_cookie(request, response, BROWSER_COOKIE, fresh, max_age=None)
    return response


def _audit(
    request: Request,
    interaction: str,
    outcome: AuditOutcome,
    detail: str | None,
    *,
    kind: AuditKind = AuditKind.LOGIN,
    client_id: str | None = None,
    subject: str | None = None,
    user: User | None = None,
    pending: PendingAuthorization | None = None,
) -> None:
    """Record a sign-in or authorization event (HIPAA 164.312(b)); never the password, code or launch handle."""
    patient = pending.context.patient if pending else None
    record = AuditRecord(
        kind=kind,
        action="E",
        interaction=interaction if interaction in ("login", "authorize") else "authorize",
        outcome=outcome,
        outcome_detail=detail[:1000] if detail else None,
        client_id=client_id,
        subject=user.username if user else subject,
        fhir_user=user.fhir_user if user else None,
        role=user.role.value if user and user.role else None,
        patients=(patient,) if patient else (),
        source_ip=request.client.host if request.client else None,
    )
    services(request).audit.record(record)


def _set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int | None) -> None:
    secure = request.url.scheme == "https" or services(request).settings.base_url().startswith("https:")
    response.set_cookie(name, value, max_age=max_age, path="/auth", secure=secure, httponly=True, samesite="lax")


def _see_other(path: str, **params: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?{urlencode(params)}", status_code=303, headers=PAGE_HEADERS)


def _to_client(redirect_uri: str, params: dict[str, str], state: str | None, *, status: int = 302) -> RedirectResponse:
    """Redirect to the registered URI, keeping its own query and echoing `state` exactly (RFC 6749 4.1.2)."""
    if state is not None:
        params = {**params, "state": state}
    separator = "&" if urlsplit(redirect_uri).query else "?"
    return RedirectResponse(f"{redirect_uri}{separator}{urlencode(params)}", status_code=status, headers=PAGE_HEADERS)
