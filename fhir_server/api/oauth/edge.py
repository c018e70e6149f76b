"""What the OAuth endpoints share at the HTTP edge: form parsing, client credentials, JSON and error responses.

The token, introspection and revocation endpoints take `application/x-www-form-urlencoded` bodies only
(RFC 6749 3.2, RFC 7662 2.1, RFC 7009 2.1); a parameter sent twice is refused rather than guessed at.
Responses carry `Cache-Control: no-store` and `Pragma: no-cache` because they may hold tokens, and they
allow any origin: browser apps call these endpoints directly, and no cookie is ever involved here.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qsl, unquote

import orjson
from fastapi import Request
from fastapi.responses import Response

from fhir_server.api.deps import services
from fhir_server.audit.records import AuditKind, AuditOutcome, AuditRecord
from fhir_server.auth.client_auth import ClientCredentials
from fhir_server.auth.errors import InvalidClient, InvalidRequest, OAuthError
from fhir_server.auth.tokens import AccessTokenClaims

FORM = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 65_536
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
CORS = {"Access-Control-Allow-Origin": "*"}
PREFLIGHT = {
    **CORS,
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Max-Age": "600",
}


async def read_form(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM:
        raise InvalidRequest(f"the request body must be {FORM}")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise InvalidRequest("the request body is too large")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as exc:
        raise InvalidRequest("the request body is not UTF-8") from exc
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise InvalidRequest(f"parameter {name!r} was sent more than once")
        form[name] = value
    return form


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """HTTP Basic client credentials (RFC 6749 2.3.1: id and secret are form-urlencoded before base64)."""
    header = request.headers.get("authorization")
    if header is None or header[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidClient("malformed Basic credentials") from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep or not client_id:
        raise InvalidClient("malformed Basic credentials")
    return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))


def uses_basic(request: Request) -> bool:
    return request.headers.get("authorization", "")[:6].lower() == "basic "


def client_credentials(request: Request, form: dict[str, str]) -> ClientCredentials:
    return ClientCredentials(
        basic=basic_credentials(request),
        client_id=form.get("client_id"),
        client_secret=form.get("client_secret"),
        assertion_type=form.get("client_assertion_type"),
        assertion=form.get("client_assertion"),
    )


def oauth_json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        content=orjson.dumps(body),
        status_code=status,
        media_type="application/json",
        headers={**NO_STORE, **CORS, **(headers or {})},
    )


def oauth_error(request: Request, error: OAuthError) -> Response:
    """RFC 6749 5.2: 400, except a failed HTTP Basic authentication, which is 401 with a challenge."""
    if isinstance(error, InvalidClient) and uses_basic(request):
        return oauth_json(error.to_json(), 401, {"WWW-Authenticate": 'Basic realm="novamind"'})
    return oauth_json(error.to_json(), 400)


def preflight() -> Response:
    return Response(status_code=204, headers=PREFLIGHT)


def audit(
    request: Request,
    interaction: str,
    outcome: AuditOutcome,
    *,
    detail: str | None = None,
    client_id: str | None = None,
    claims: AccessTokenClaims | None = None,
) -> None:
    """Record a token-endpoint event (HIPAA 164.312(b): every token issued, every refusal); never a token."""
    record = AuditRecord(
        kind=AuditKind.TOKEN,
        action="E",
        interaction=interaction,
        outcome=outcome,
        outcome_detail=detail[:1000] if detail else None,
        client_id=claims.client_id if claims else client_id,
        subject=claims.sub if claims else None,
        fhir_user=claims.fhir_user if claims else None,
        role=claims.role.value if claims and claims.role else None,
        patients=(claims.patient,) if claims and claims.patient else (),
        source_ip=request.client.host if request.client else None,
    )
    services(request).audit.record(record)
