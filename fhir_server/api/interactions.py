"""The RESTful interactions: thin handlers that negotiate, call a service and render the result."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import ColumnElement

from fhir_server.api.auditing import audit_served, audit_writes
from fhir_server.api.deps import Services, base_url, services
from fhir_server.api.negotiation import (
    check_accept,
    json_response,
    prefer_return,
    prefer_strict,
    read_body,
    version_headers,
)
from fhir_server.api.outcomes import entry_response, informational
from fhir_server.api.security import RequestAccess, request_access
from fhir_server.auth.policy import Interaction
from fhir_server.errors import InvalidRequest, MethodNotAllowed, NotFound, UnsupportedMediaType
from fhir_server.services import bundle_builder as bb
from fhir_server.services.observation_check import issue_json
from fhir_server.services.resources import WriteResult
from fhir_server.storage.clock import now_us, parse_instant, to_http_date
from fhir_server.storage.tables import resource_history

router = APIRouter(prefix="/fhir")


def _query_pairs(request: Request) -> list[tuple[str, str]]:
    return list(request.query_params.multi_items())


def _read_response(stored: Any, base: str) -> Response:
    return json_response(stored.content, headers=version_headers(stored, base))


def _served(request: Request, access: RequestAccess, body: dict[str, Any]) -> Response:
    """Render a Bundle once, audit what it serves, and send those same bytes."""
    content = orjson.dumps(body)
    audit_served(request, access, content)
    return json_response(content)


def _write_response(request: Request, result: WriteResult, base: str) -> Response:
    s = result.stored
    headers = version_headers(s, base)
    headers["Location"] = f"{base}/{s.res_type}/{s.res_id}/_history/{s.version}"
    status = 201 if result.created else 200
    wanted = prefer_return(request)
    if wanted == "minimal":
        return Response(status_code=status, headers=headers)
    if wanted == "operationoutcome":
        verb = "Created" if result.created else "Updated"
        outcome = informational(f"{verb} {s.res_type}/{s.res_id} version {s.version}.")
        outcome["issue"] += [issue_json(issue) for issue in result.issues]  # stored despite these warnings
        return json_response(outcome, status, headers)
    return json_response(s.content, status, headers)


# ---- system level ------------------------------------------------------------------------------------


@router.get("")
@router.get("/")
async def system_search(request: Request) -> Response:
    check_accept(request)
    svc: Services = services(request)
    access = await request_access(request)
    guard = access.guard
    params = request.query_params
    async with svc.repository.unit_of_work(write=False) as uow:
        if "_getpages" in params:
            offset = int(params.get("_getpagesoffset", "0") or 0)
            count = int(params["_count"]) if params.get("_count") else None
            bundle = await svc.search.page(uow, params["_getpages"], offset, count, base_url(request), guard=guard)
        else:
            bundle = await svc.search.search(
                uow, None, _query_pairs(request), strict=prefer_strict(request), base=base_url(request), guard=guard
            )
    return _served(request, access, bundle)


@router.post("")
@router.post("/")
async def system_bundle(request: Request) -> Response:
    check_accept(request)
    svc = services(request)
    access = await request_access(request)
    guard = access.guard
    body = await read_body(request)
    if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
        raise InvalidRequest("POST to the base URL takes a Bundle of type 'transaction' or 'batch'.")
    representation = prefer_return(request) == "representation" and "prefer" in request.headers
    base = base_url(request)
    if body.get("type") == "transaction":
        hook = audit_writes(request, access, "transaction")
        result = await svc.bundles.transaction(
            lambda: svc.repository.unit_of_work(before_commit=hook),
            body,
            base=base,
            representation=representation,
            guard=guard,
        )
    elif body.get("type") == "batch":
        hook = audit_writes(request, access, "batch")
        result = await svc.bundles.batch(
            lambda: svc.repository.unit_of_work(before_commit=hook),
            body,
            base=base,
            representation=representation,
            render_error=entry_response,
            guard=guard,
        )
    else:
        raise InvalidRequest(
            f"Bundle.type is {body.get('type')!r}; the server processes 'transaction' and 'batch' bundles."
        )
    return _served(request, access, result)


@router.get("/_history")
async def system_history(request: Request) -> Response:
    return await _history(request, None, None)


# ---- type level --------------------------------------------------------------------------------------


@router.get("/{res_type}")
async def search_type(request: Request, res_type: str) -> Response:
    return await _search(request, res_type, _query_pairs(request))


@router.post("/{res_type}/_search")
async def search_post(request: Request, res_type: str) -> Response:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    pairs = _query_pairs(request)
    if ctype == "application/x-www-form-urlencoded":
        pairs += parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True)
    elif ctype:
        raise InvalidRequest("POST _search takes application/x-www-form-urlencoded parameters.")
    return await _search(request, res_type, pairs)


async def _search(
    request: Request, res_type: str, pairs: list[tuple[str, str]], compartment: tuple[str, str] | None = None
) -> Response:
    check_accept(request)
    svc = services(request)
    svc.resources.check_type(res_type)
    access = await request_access(request)
    guard = access.guard
    path = res_type if compartment is None else f"{compartment[0]}/{compartment[1]}/{res_type}"
    async with svc.repository.unit_of_work(write=False) as uow:
        bundle = await svc.search.search(
            uow,
            res_type,
            pairs,
            strict=prefer_strict(request),
            base=base_url(request),
            guard=guard,
            compartment=compartment,
            self_path=path,
        )
    return _served(request, access, bundle)


@router.post("/{res_type}")
async def create(request: Request, res_type: str) -> Response:
    check_accept(request)
    svc = services(request)
    svc.resources.check_type(res_type)
    access = await request_access(request)
    guard = access.guard
    body = await read_body(request)
    if_none_exist = request.headers.get("if-none-exist")
    async with svc.repository.unit_of_work(before_commit=audit_writes(request, access)) as uow:
        result = await svc.resources.create(uow, res_type, body, guard=guard, if_none_exist=if_none_exist)
    return _write_response(request, result, base_url(request))


@router.put("/{res_type}")
async def conditional_update(request: Request, res_type: str) -> Response:
    check_accept(request)
    svc = services(request)
    criteria = request.url.query
    if not criteria:
        raise MethodNotAllowed(f"PUT /{res_type} needs search criteria (conditional update) or an id in the URL.")
    access = await request_access(request)
    guard = access.guard
    body = await read_body(request)
    if_match = request.headers.get("if-match")
    result = await svc.repository.retrying(
        lambda uow: svc.resources.conditional_update(uow, res_type, criteria, body, guard=guard, if_match=if_match),
        before_commit=audit_writes(request, access),
    )
    return _write_response(request, result, base_url(request))


@router.delete("/{res_type}")
async def conditional_delete(request: Request, res_type: str) -> Response:
    svc = services(request)
    criteria = request.url.query
    if not criteria:
        raise MethodNotAllowed(f"DELETE /{res_type} needs search criteria (conditional delete) or an id.")
    access = await request_access(request)
    guard = access.guard
    async with svc.repository.unit_of_work(before_commit=audit_writes(request, access)) as uow:
        deleted = await svc.resources.conditional_delete(uow, res_type, criteria, guard=guard)
    message = f"Deleted {len(deleted)} {res_type} resource(s) matching '{criteria}'."
    return json_response(informational(message), 200)


@router.get("/{res_type}/_history")
async def type_history(request: Request, res_type: str) -> Response:
    services(request).resources.check_type(res_type)
    return await _history(request, res_type, None)


# ---- instance level ----------------------------------------------------------------------------------


@router.get("/{res_type}/{res_id}")
async def read(request: Request, res_type: str, res_id: str) -> Response:
    check_accept(request)
    svc = services(request)
    access = await request_access(request)
    stored = await svc.resources.read_latest(svc.repository, res_type, res_id, guard=access.guard)
    audit_served(request, access, stored.content or b"", resource=stored)
    etag = f'W/"{stored.version}"'
    if request.headers.get("if-none-match") in (etag, f'"{stored.version}"'):
        return Response(status_code=304, headers={"ETag": etag})
    if (since := request.headers.get("if-modified-since")) and since == to_http_date(stored.last_updated):
        return Response(status_code=304, headers={"ETag": etag})
    return _read_response(stored, base_url(request))


@router.put("/{res_type}/{res_id}")
async def update(request: Request, res_type: str, res_id: str) -> Response:
    check_accept(request)
    svc = services(request)
    svc.resources.check_type(res_type)
    access = await request_access(request)
    guard = access.guard
    body = await read_body(request)
    if_match = request.headers.get("if-match")
    result = await svc.repository.retrying(
        lambda uow: svc.resources.update(uow, res_type, res_id, body, guard=guard, if_match=if_match),
        before_commit=audit_writes(request, access),
    )
    return _write_response(request, result, base_url(request))


@router.patch("/{res_type}/{res_id}")
async def patch(request: Request, res_type: str, res_id: str) -> Response:
    check_accept(request)
    svc = services(request)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json-patch+json":
        raise UnsupportedMediaType(
            f"PATCH takes a JSON Patch document (Content-Type: application/json-patch+json), not {ctype or 'none'}."
        )
    access = await request_access(request)
    guard = access.guard
    ops = await read_body(request, allow_patch=True)
    async with svc.repository.unit_of_work(before_commit=audit_writes(request, access)) as uow:
        result = await svc.resources.patch(
            uow, res_type, res_id, ops, guard=guard, if_match=request.headers.get("if-match")
        )
    return _write_response(request, result, base_url(request))


@router.delete("/{res_type}/{res_id}")
async def delete(request: Request, res_type: str, res_id: str) -> Response:
    svc = services(request)
    access = await request_access(request)
    stored = await svc.repository.retrying(
        lambda uow: svc.resources.delete(uow, res_type, res_id, guard=access.guard),
        before_commit=audit_writes(request, access),
    )
    headers = {"ETag": f'W/"{stored.version}"'} if stored else {}
    return Response(status_code=204, headers=headers)


@router.get("/{res_type}/{res_id}/_history")
async def instance_history(request: Request, res_type: str, res_id: str) -> Response:
    svc = services(request)
    guard = (await request_access(request)).guard
    async with svc.repository.unit_of_work(write=False) as uow:
        svc.resources.check_type(res_type)
        current = await uow.current(res_type, res_id)
        if current is None:
            raise NotFound(f"{res_type}/{res_id} does not exist on this server.")
        await guard.ensure_visible(uow, guard.require(Interaction.HISTORY_INSTANCE, res_type), current)
    return await _history(request, res_type, res_id)


@router.get("/{res_type}/{res_id}/_history/{version}")
async def vread(request: Request, res_type: str, res_id: str, version: str) -> Response:
    check_accept(request)
    svc = services(request)
    access = await request_access(request)
    async with svc.repository.unit_of_work(write=False) as uow:
        stored = await svc.resources.vread(uow, res_type, res_id, version, guard=access.guard)
    audit_served(request, access, stored.content or b"", resource=stored)
    return _read_response(stored, base_url(request))


@router.get("/{comp_type}/{comp_id}/{res_type}")
async def compartment_search(request: Request, comp_type: str, comp_id: str, res_type: str) -> Response:
    if comp_type != "Patient":
        raise InvalidRequest(f"Compartment searches are supported for Patient, not {comp_type}.")
    return await _search(request, res_type, _query_pairs(request), compartment=(comp_type, comp_id))


async def _history(request: Request, res_type: str | None, res_id: str | None) -> Response:
    check_accept(request)
    svc = services(request)
    params = request.query_params
    try:
        since = parse_instant(params["_since"]) if params.get("_since") else None
        at = parse_instant(params["_at"]) if params.get("_at") else None
    except ValueError as exc:
        raise InvalidRequest(f"_since/_at must be FHIR instants like 2024-01-31T12:00:00Z: {exc}") from exc
    try:
        count = min(int(params.get("_count", svc.settings.default_page_size)), svc.settings.max_page_size)
        offset = int(params.get("_getpagesoffset", "0"))
        # Later pages are pinned to the moment the first page was served, so new versions never shift them.
        pinned = int(params["_pinned"]) if params.get("_pinned") else now_us()
    except ValueError as exc:
        raise InvalidRequest("_count, _getpagesoffset and _pinned must be whole numbers.") from exc
    at = min(at, pinned) if at is not None else pinned
    base = base_url(request)
    visible = await _history_restriction(request, res_type, res_id)
    async with svc.repository.unit_of_work(write=False) as uow:
        total, rows = await uow.history(
            res_type=res_type, res_id=res_id, since=since, at=at, count=count, offset=offset, visible=visible
        )
    path = "/".join(p for p in (res_type, res_id) if p)
    path = f"{base}/{path}/_history" if path else f"{base}/_history"
    keep = [(k, v) for k, v in params.multi_items() if k not in ("_getpagesoffset", "_pinned")]
    keep.append(("_pinned", str(pinned)))

    def link(off: int) -> str:
        return f"{path}?{urlencode([*keep, ('_getpagesoffset', str(off))])}"

    links = [{"relation": "self", "url": link(offset)}]
    if offset > 0:
        links.append({"relation": "previous", "url": link(max(0, offset - count))})
    if offset + count < total:
        links.append({"relation": "next", "url": link(offset + count)})
    bundle = bb.bundle("history", [bb.history_entry(base, r) for r in rows], total=total, link=links)
    return _served(request, await request_access(request), bundle)


async def _history_restriction(
    request: Request, res_type: str | None, res_id: str | None
) -> ColumnElement[bool] | None:
    """Type history shows versions of the resources the token may search; system history needs it all."""
    guard = (await request_access(request)).guard
    if res_id is not None:  # instance history: the resource itself was checked by the caller
        return None
    if res_type is not None:
        return guard.restrict(resource_history.c.resource_pk, guard.require(Interaction.HISTORY_TYPE, res_type))
    h = resource_history.c
    types = services(request).registry.resource_types()
    return guard.restrict_types(h.resource_pk, h.res_type, Interaction.HISTORY_TYPE, types)
