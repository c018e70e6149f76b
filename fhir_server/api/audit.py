"""The AuditEvent endpoints: read and search over the audit trail; every write is refused (405).

Audit rows live in their own tables (`fhir_server.audit.search`), so these routes sit in front of the
generic interactions router. Reaching them needs a grant that names AuditEvent (`user/AuditEvent.rs`,
`system/AuditEvent.rs`): neither `*` nor any `patient/` scope does (`fhir_server.auth.policy`). A grant
with a query (`?patient=...`) narrows what it sees. Reading the audit trail is itself audited.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from fhir_server.api.deps import Services, base_url, services
from fhir_server.api.negotiation import check_accept, json_response
from fhir_server.api.security import RequestAccess, request_access
from fhir_server.audit.events import with_id
from fhir_server.audit.records import AuditKind, AuditOutcome, AuditRecord
from fhir_server.audit.search import AuditPage, find, parse_query
from fhir_server.auth.errors import InsufficientScope
from fhir_server.auth.policy import Decision, Interaction
from fhir_server.errors import MethodNotAllowed, NotFound, NotSupported

router = APIRouter(prefix="/fhir/AuditEvent")

AUDIT_EVENT = "AuditEvent"
READ_ONLY = "AuditEvent is read-only: the audit trail is written by the server only."


@router.get("")
async def search(request: Request) -> Response:
    return await _search(request, list(request.query_params.multi_items()))


@router.post("/_search")
async def search_by_post(request: Request) -> Response:
    form = parse_qsl((await request.body()).decode(), keep_blank_values=True)
    return await _search(request, list(request.query_params.multi_items()) + form)


@router.get("/_history")
async def history_type(request: Request) -> Response:
    await _authorize(request, Interaction.HISTORY_TYPE)
    raise NotSupported("AuditEvent has no history: audit events never change. Search with date= instead.")


@router.get("/{event_id}")
async def read(request: Request, event_id: str) -> Response:
    return await _read(request, event_id, Interaction.READ, "read")


@router.get("/{event_id}/_history/{version_id}")
async def vread(request: Request, event_id: str, version_id: str) -> Response:
    # Audit events are never updated: version 1 is the only version there is.
    if version_id != "1":
        await _authorize(request, Interaction.VREAD)
        raise NotFound(f"AuditEvent/{event_id} has no version {version_id}; audit events only have version 1.")
    return await _read(request, event_id, Interaction.VREAD, "vread")


@router.get("/{event_id}/_history")
async def history_instance(request: Request, event_id: str) -> Response:
    """The one version every audit event has, as a history Bundle."""
    access, decision = await _authorize(request, Interaction.HISTORY_INSTANCE)
    page = await _find(request, [("_id", event_id)], decision)
    if not page.rows:
        raise NotFound(f"AuditEvent/{event_id} is not known.")
    pk, content = page.rows[0]
    _audit(request, access, "history-instance", entities=(f"AuditEvent/{pk}",))
    base = base_url(request)
    entry = {
        "fullUrl": f"{base}/AuditEvent/{pk}",
        "resource": orjson.Fragment(with_id(content, pk)),
        "request": {"method": "POST", "url": "AuditEvent"},
        "response": {"status": "201 Created"},
    }
    return json_response(orjson.dumps({"resourceType": "Bundle", "type": "history", "total": 1, "entry": [entry]}))


@router.post("")
@router.put("")
@router.patch("")
@router.delete("")
@router.put("/{event_id}")
@router.patch("/{event_id}")
@router.delete("/{event_id}")
@router.post("/{event_id}")
async def refuse_write(request: Request) -> Response:
    raise MethodNotAllowed(READ_ONLY)


async def _authorize(request: Request, interaction: Interaction) -> tuple[RequestAccess, Decision]:
    check_accept(request)
    access = await request_access(request)
    decision = access.policy.require(interaction, AUDIT_EVENT)
    if decision.needs_disjunction:
        raise InsufficientScope("several query-restricted AuditEvent grants cannot be combined; grant one")
    return access, decision


async def _read(request: Request, event_id: str, interaction: Interaction, code: str) -> Response:
    access, decision = await _authorize(request, interaction)
    page = await _find(request, [("_id", event_id)], decision)
    if not page.rows:
        raise NotFound(f"AuditEvent/{event_id} is not known.")
    pk, content = page.rows[0]
    _audit(request, access, code, entities=(f"AuditEvent/{pk}",))
    return json_response(with_id(content, pk), headers={"ETag": 'W/"1"'})


async def _search(request: Request, pairs: list[tuple[str, str]]) -> Response:
    access, decision = await _authorize(request, Interaction.SEARCH_TYPE)
    page = await _find(request, pairs, decision)
    _audit(request, access, "search-type", query=urlencode(pairs))
    return json_response(_bundle(page, pairs, base_url(request)))


async def _find(request: Request, pairs: list[tuple[str, str]], decision: Decision) -> AuditPage:
    svc: Services = services(request)
    query = parse_query(
        [*pairs, *decision.filters],
        base_url=base_url(request),
        default_count=svc.settings.default_page_size,
        max_count=svc.settings.max_page_size,
    )
    return await find(svc.audit.engine, query)


def _bundle(page: AuditPage, pairs: list[tuple[str, str]], base: str) -> bytes:
    own = [(k, v) for k, v in pairs if k != "_cursor"]
    links = [{"relation": "self", "url": _url(base, pairs)}]
    if page.next_cursor is not None:
        links.append({"relation": "next", "url": _url(base, [*own, ("_cursor", str(page.next_cursor))])})
    entries = [
        {
            "fullUrl": f"{base}/AuditEvent/{pk}",
            "resource": orjson.Fragment(with_id(content, pk)),
            "search": {"mode": "match"},
        }
        for pk, content in page.rows
    ]
    bundle = {"resourceType": "Bundle", "type": "searchset", "link": links}
    if entries:  # FHIR JSON has no empty arrays
        bundle["entry"] = entries
    return orjson.dumps(bundle)


def _url(base: str, pairs: list[tuple[str, str]]) -> str:
    query = urlencode(pairs)
    return f"{base}/AuditEvent?{query}" if query else f"{base}/AuditEvent"


def _audit(
    request: Request,
    access: RequestAccess,
    interaction: str,
    *,
    entities: tuple[str, ...] = (),
    query: str | None = None,
) -> None:
    services(request).audit.record(
        AuditRecord(
            kind=AuditKind.REST,
            action="E" if interaction == "search-type" else "R",
            interaction=interaction,
            outcome=AuditOutcome.SUCCESS,
            client_id=access.client_id,
            subject=access.subject,
            fhir_user=access.fhir_user,
            role=access.role,
            entities=entities,
            query=query or None,
            source_ip=access.source_ip,
        )
    )
