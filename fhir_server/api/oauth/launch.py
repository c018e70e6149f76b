"""Minting EHR launch handles: `POST /auth/launch` for an EHR, and `novamind launch` for an administrator.

An EHR launch starts outside NovaMind: the EHR decides which app opens for which user, patient, encounter and
`fhirContext`, asks us for an opaque handle bound to that context, and passes the handle to the app as
`launch`. The app sends it back to `/auth/authorize`, where it is redeemed once, by that client, within five
minutes (`AuthStore.take_launch`). Only a client registered with `can_launch` may mint, authenticated by one
of our own access tokens (e.g. from the backend-services `client_credentials` grant).

Request body (JSON): `client_id` (required: the app being launched), `username`, `patient`, `encounter`,
`fhirContext` (SMART 2.2 context objects), `need_patient_banner`, `intent`. Answer: 201
`{"launch": handle, "expires_in": 300}`.

https://hl7.org/fhir/smart-app-launch/app-launch.html#launch-app-ehr-launch
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from fhir_server.api.deps import services
from fhir_server.auth.errors import InvalidToken
from fhir_server.auth.records import LaunchContext
from fhir_server.auth.store import LAUNCH_LIFETIME, AuthStore
from fhir_server.settings import Settings

router = APIRouter(prefix="/auth", tags=["SMART authorization"])

_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_FIELDS = frozenset({"client_id", "username", "patient", "encounter", "fhirContext", "need_patient_banner", "intent"})
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


ResourceCheck = Callable[[str, str], Awaitable[bool]]


class LaunchRequestError(Exception):
    """The launch request names an unknown client, user or resource, or is malformed."""


@dataclass(frozen=True, slots=True)
class LaunchRequest:
    client_id: str
    username: str | None
    context: LaunchContext


def parse_launch_request(body: object) -> LaunchRequest:
    """The launch the EHR asks for, checked for shape (existence is checked by `mint`)."""
    if not isinstance(body, dict):
        raise LaunchRequestError("The body must be a JSON object.")
    unknown = set(body) - _FIELDS
    if unknown:
        raise LaunchRequestError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    client_id = body.get("client_id")
    if not isinstance(client_id, str) or not client_id:
        raise LaunchRequestError("client_id (the app to launch) is required.")
    banner = body.get("need_patient_banner", True)
    if not isinstance(banner, bool):
        raise LaunchRequestError("need_patient_banner must be true or false.")
    context = LaunchContext(
        patient=_fhir_id(body, "patient"),
        encounter=_fhir_id(body, "encounter"),
        fhir_context=_fhir_context(body.get("fhirContext", [])),
        need_patient_banner=banner,
        intent=_optional_text(body, "intent"),
    )
    return LaunchRequest(client_id, _optional_text(body, "username"), context)


async def mint(store: AuthStore, launch: LaunchRequest, *, resource_exists: ResourceCheck | None = None) -> str:
    """A fresh handle for `launch`, after checking that its client, user and resources exist."""
    if await store.client(launch.client_id) is None:
        raise LaunchRequestError("client_id is not a registered client.")
    if launch.username is not None and await store.user(launch.username) is None:
        raise LaunchRequestError("username is not a registered user.")
    if resource_exists is not None:
        for res_type, res_id in (("Patient", launch.context.patient), ("Encounter", launch.context.encounter)):
            if res_id is not None and not await resource_exists(res_type, res_id):
                raise LaunchRequestError(f"{res_type}/{res_id} does not exist.")
    return await store.mint_launch(launch.client_id, launch.username, launch.context)


def _optional_text(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise LaunchRequestError(f"{name} must be a non-empty string.")
    return value


def _fhir_id(body: Mapping[str, Any], name: str) -> str | None:
    value = _optional_text(body, name)
    if value is not None and not _FHIR_ID.match(value):
        raise LaunchRequestError(f"{name} must be a FHIR resource id.")
    return value


def _fhir_context(value: object) -> tuple[Mapping[str, Any], ...]:
    # SMART 2.2: each object has a `reference`, `canonical` or `identifier`, optionally `type` and `role`.
    if not isinstance(value, list):
        raise LaunchRequestError("fhirContext must be a list of objects.")
    for item in value:
        if not isinstance(item, dict) or not ({"reference", "canonical", "identifier"} & set(item)):
            raise LaunchRequestError("each fhirContext item needs a reference, canonical or identifier.")
        if any(not isinstance(item[k], str) for k in ("reference", "canonical", "type", "role") if k in item):
            raise LaunchRequestError("fhirContext reference, canonical, type and role must be strings.")
    return tuple(value)


# ---- HTTP --------------------------------------------------------------------------------------------------


@router.post("/launch")
async def launch(request: Request) -> Response:
    svc = services(request)
    auth = svc.auth
    try:
        claims = auth.tokens.verify(_bearer(request))
    except InvalidToken as exc:
        return _error(401, "invalid_token", exc.message)
    if not await auth.store.access_token_active(claims.jti):
        return _error(401, "invalid_token", "The access token was revoked.")
    caller = await auth.store.client(claims.client_id)
    if caller is None or not caller.can_launch:
        return _error(403, "insufficient_scope", "This client is not allowed to mint EHR launches.")
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return _error(400, "invalid_request", "The body must be JSON.")

    async def exists(res_type: str, res_id: str) -> bool:
        stored = await svc.repository.latest(res_type, res_id)
        return stored is not None and not stored.deleted

    try:
        handle = await mint(auth.store, parse_launch_request(body), resource_exists=exists)
    except LaunchRequestError as exc:
        return _error(400, "invalid_request", str(exc))
    expires_in = int(LAUNCH_LIFETIME.total_seconds())
    return JSONResponse({"launch": handle, "expires_in": expires_in}, status_code=201, headers=_NO_STORE)


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("A bearer access token is required.")
    return token.strip()


def _error(status: int, error: str, description: str) -> JSONResponse:
    headers = dict(_NO_STORE)
    if status == 401:
        headers["WWW-Authenticate"] = f'Bearer error="{error}"'
    return JSONResponse({"error": error, "error_description": description}, status_code=status, headers=headers)


# ---- CLI ---------------------------------------------------------------------------------------------------


def add_launch_command(
    sub: argparse._SubParsersAction, settings_from: Callable[[argparse.Namespace], Settings]
) -> None:
    """Register `novamind launch`, which prints a handle minted straight through the store."""
    p = sub.add_parser("launch", help="mint an EHR launch handle (valid 5 minutes, single use) and print it")
    p.add_argument("--client-id", required=True, help="the app to launch")
    p.add_argument("--patient", default=None, help="Patient id in context")
    p.add_argument("--encounter", default=None, help="Encounter id in context")
    p.add_argument("--user", default=None, help="the only user who may complete this launch")
    p.add_argument("--database-url", default=None)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)

    def run(args: argparse.Namespace) -> int:
        body = {
            "client_id": args.client_id,
            "patient": args.patient,
            "encounter": args.encounter,
            "username": args.user,
        }
        try:
            launch = parse_launch_request({k: v for k, v in body.items() if v is not None})
            handle = asyncio.run(_mint_offline(settings_from(args), launch))
        except LaunchRequestError as exc:
            print(f"novamind launch: {exc}", file=sys.stderr)
            return 2
        print(handle)
        return 0

    p.set_defaults(func=run)


async def _mint_offline(settings: Settings, launch: LaunchRequest) -> str:
    # Imported here: the CLI should not open keys or engines just to print `--help`.
    from fhir_server.auth.components import build_auth_components
    from fhir_server.storage.db import create_engine
    from fhir_server.storage.migrate import upgrade

    engine = create_engine(settings.resolved_database_url())
    try:
        await upgrade(engine)
        return await mint(build_auth_components(settings, engine).store, launch)
    finally:
        await engine.dispose()
