"""Content negotiation: we speak FHIR JSON only, and say so clearly when a client asks for XML."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import Response

from fhir_server.errors import NotAcceptable, UnsupportedMediaType
from fhir_server.fhir_models import parse_json
from fhir_server.storage.clock import to_http_date
from fhir_server.storage.repository import StoredResource

FHIR_JSON = "application/fhir+json"
_JSON_FORMATS = {"json", "application/json", "application/fhir+json", "application/json+fhir"}
_XML_HINTS = ("xml",)


def check_accept(request: Request) -> None:
    fmt = request.query_params.get("_format")
    if fmt is not None:
        if fmt.split(";")[0].strip().lower() in _JSON_FORMATS:
            return
        raise NotAcceptable(f"_format={fmt} is not supported: this server produces FHIR JSON only (use _format=json).")
    accept = request.headers.get("accept", "")
    if not accept:
        return
    kinds = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    if any(k in ("*/*", "application/*") or "json" in k for k in kinds):
        return
    if any(any(h in k for h in _XML_HINTS) for k in kinds):
        raise NotAcceptable(
            f"Accept: {accept} asks for XML; this server produces FHIR JSON only (send Accept: {FHIR_JSON})."
        )


async def read_body(request: Request, *, allow_patch: bool = False) -> Any:
    ctype = request.headers.get("content-type", FHIR_JSON).split(";")[0].strip().lower()
    if allow_patch and ctype == "application/json-patch+json":
        return parse_json(await request.body())
    if ctype in _JSON_FORMATS or (ctype.endswith("+json") and "patch" not in ctype):
        return parse_json(await request.body())
    if "xml" in ctype:
        raise UnsupportedMediaType(f"Content-Type {ctype} is not supported: send FHIR JSON ({FHIR_JSON}).")
    if ctype == "application/json-patch+json":
        raise UnsupportedMediaType("JSON Patch is accepted on PATCH /{type}/{id} only.")
    raise UnsupportedMediaType(f"Content-Type {ctype or '(none)'} is not supported: send {FHIR_JSON}.")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return Response(content=content, status_code=status, media_type=FHIR_JSON, headers=headers)


def version_headers(stored: StoredResource, base: str) -> dict[str, str]:
    return {
        "ETag": f'W/"{stored.version}"',
        "Last-Modified": to_http_date(stored.last_updated),
        "Content-Location": f"{base}/{stored.res_type}/{stored.res_id}/_history/{stored.version}",
    }


def prefer_return(request: Request) -> str:
    for part in request.headers.get("prefer", "").split(","):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "return":
            return value.strip().strip('"').lower()
    return "representation"


def prefer_strict(request: Request) -> bool:
    for part in request.headers.get("prefer", "").split(","):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "handling":
            return value.strip().strip('"').lower() == "strict"
    return False
