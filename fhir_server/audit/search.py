"""AuditEvent search: query parameters -> `AuditQuery` -> one indexed SELECT over the audit tables.

Audit rows are not in the generic search index (see `fhir_server.storage.audit_tables`), so AuditEvent has
its own small search: the parameters a privacy officer needs to answer "who saw this patient's data, when,
through which app", each mapped to an indexed column:

    _id                 the event's id
    patient             Patient/x among the event's entities (or the bare id)
    entity              any "Type/id" among the event's entities
    agent               the user's fhirUser reference; `agent:identifier=` the client application's id
    altid               the user name
    date                recorded (eq, ge, gt, le, lt; partial dates cover their whole period)
    action, outcome, subtype, type   their codes (`system|code` accepted)
    _count, _cursor     page size; keyset paging (newest first: `_cursor` is the last id of the previous page)

Each value may list alternatives separated by commas (OR); repeating a parameter ANDs its conditions.
Anything else is refused (400) rather than silently ignored, so a reviewer never trusts a filter we dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from fhir_server.audit.events import subtype_system
from fhir_server.errors import InvalidRequest
from fhir_server.storage.audit_tables import audit_event, audit_event_entity
from fhir_server.storage.clock import parse_instant, parse_instant_end

IGNORED = frozenset({"_format", "_pretty"})
_DATE_PREFIXES = ("eq", "ge", "gt", "le", "lt")


@dataclass(frozen=True, slots=True)
class AuditQuery:
    conditions: tuple[ColumnElement[bool], ...] = ()
    count: int = 20
    cursor: int | None = None
    params: tuple[tuple[str, str], ...] = field(default=())  # the search's own parameters, for paging links


@dataclass(frozen=True, slots=True)
class AuditPage:
    rows: tuple[tuple[int, bytes], ...]  # (id, AuditEvent JSON without id), newest first
    next_cursor: int | None


def parse_query(pairs: Iterable[tuple[str, str]], *, base_url: str, default_count: int, max_count: int) -> AuditQuery:
    """Raises InvalidRequest for an unknown parameter, modifier or malformed value."""
    conditions: list[ColumnElement[bool]] = []
    count, cursor = default_count, None
    kept: list[tuple[str, str]] = []
    for name, value in pairs:
        if name in IGNORED:
            continue
        if name == "_count":
            count = min(_integer(name, value), max_count)
            kept.append((name, value))
            continue
        if name == "_cursor":
            cursor = _integer(name, value)
            continue
        conditions.append(_condition(name, value, base_url))
        kept.append((name, value))
    return AuditQuery(tuple(conditions), max(count, 0), cursor, tuple(kept))


def _condition(name: str, value: str, base_url: str) -> ColumnElement[bool]:
    values = [v.strip() for v in value.split(",") if v.strip()]
    if not values:
        raise InvalidRequest(f"Search parameter {name} has no value.")
    builder = _BUILDERS.get(name)
    if builder is None:
        raise InvalidRequest(
            f"AuditEvent search does not support '{name}'; supported: {', '.join(sorted(_BUILDERS))}, _count."
        )
    return or_(*(builder(v, base_url) for v in values))


def _integer(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise InvalidRequest(f"{name} must be an integer, not {value!r}.") from None


def _reference(value: str, base_url: str, default_type: str | None = None) -> str:
    ref = value.removeprefix(base_url.rstrip("/") + "/").split("/_history/", 1)[0]
    if "/" not in ref:
        if default_type is None:
            raise InvalidRequest(f"'{value}' is not a reference: write Type/id.")
        ref = f"{default_type}/{ref}"
    return ref


def _with_entity(reference: str) -> ColumnElement[bool]:
    return audit_event.c.pk.in_(
        select(audit_event_entity.c.event_pk).where(audit_event_entity.c.reference == reference)
    )


def _patient(value: str, base_url: str) -> ColumnElement[bool]:
    reference = _reference(value, base_url, "Patient")
    if not reference.startswith("Patient/"):
        raise InvalidRequest(f"patient={value} does not name a Patient.")
    return _with_entity(reference)


def _entity(value: str, base_url: str) -> ColumnElement[bool]:
    return _with_entity(_reference(value, base_url))


def _agent(value: str, base_url: str) -> ColumnElement[bool]:
    return audit_event.c.fhir_user == _reference(value, base_url)


def _agent_identifier(value: str, _: str) -> ColumnElement[bool]:
    return audit_event.c.client_id == value.rsplit("|", 1)[-1]


def _altid(value: str, _: str) -> ColumnElement[bool]:
    return audit_event.c.subject == value


def _token(column: str) -> Any:
    def build(value: str, _: str) -> ColumnElement[bool]:
        return audit_event.c[column] == value.rsplit("|", 1)[-1]

    return build


def _subtype(value: str, _: str) -> ColumnElement[bool]:
    system, bar, code = value.rpartition("|")
    if bar and system and system != subtype_system(code):
        return false()
    return audit_event.c.subtype == code


def _id(value: str, _: str) -> ColumnElement[bool]:
    return audit_event.c.pk == int(value) if value.isdigit() else false()


def _date(value: str, _: str) -> ColumnElement[bool]:
    prefix, text = (value[:2], value[2:]) if value[:2] in _DATE_PREFIXES else ("eq", value)
    try:
        start, end = parse_instant(text), parse_instant_end(text)
    except ValueError:
        raise InvalidRequest(
            f"date={value} is not a FHIR date, dateTime or instant (prefixes: eq ge gt le lt)."
        ) from None
    recorded = audit_event.c.recorded
    return {
        "eq": and_(recorded >= start, recorded <= end),
        "ge": recorded >= start,
        "gt": recorded > end,
        "le": recorded <= end,
        "lt": recorded < start,
    }[prefix]


_BUILDERS: dict[str, Any] = {
    "_id": _id,
    "patient": _patient,
    "entity": _entity,
    "agent": _agent,
    "agent:identifier": _agent_identifier,
    "altid": _altid,
    "date": _date,
    "action": _token("action"),
    "outcome": _token("outcome"),
    "type": _token("type_code"),
    "subtype": _subtype,
}


# (name, type, definition) for the CapabilityStatement: what this search really supports.
SEARCH_PARAMETERS: tuple[tuple[str, str, str], ...] = (
    ("_id", "token", "http://hl7.org/fhir/SearchParameter/Resource-id"),
    ("patient", "reference", "http://hl7.org/fhir/SearchParameter/AuditEvent-patient"),
    ("entity", "reference", "http://hl7.org/fhir/SearchParameter/AuditEvent-entity"),
    ("agent", "reference", "http://hl7.org/fhir/SearchParameter/AuditEvent-agent"),
    ("altid", "token", "http://hl7.org/fhir/SearchParameter/AuditEvent-altid"),
    ("date", "date", "http://hl7.org/fhir/SearchParameter/AuditEvent-date"),
    ("action", "token", "http://hl7.org/fhir/SearchParameter/AuditEvent-action"),
    ("outcome", "token", "http://hl7.org/fhir/SearchParameter/AuditEvent-outcome"),
    ("type", "token", "http://hl7.org/fhir/SearchParameter/AuditEvent-type"),
    ("subtype", "token", "http://hl7.org/fhir/SearchParameter/AuditEvent-subtype"),
)


def capability_resource() -> dict[str, Any]:
    """AuditEvent's entry in CapabilityStatement.rest.resource: read-only, with the parameters above."""
    return {
        "type": "AuditEvent",
        "interaction": [{"code": code} for code in ("read", "vread", "history-instance", "search-type")],
        "versioning": "versioned",
        "readHistory": False,
        "updateCreate": False,
        "searchParam": [{"name": n, "type": t, "definition": d} for n, t, d in SEARCH_PARAMETERS],
    }


async def find(engine: AsyncEngine, query: AuditQuery) -> AuditPage:
    """One page of matching events, newest first, and the cursor of the next page if there is one."""
    stmt = select(audit_event.c.pk, audit_event.c.content).where(*query.conditions)
    if query.cursor is not None:
        stmt = stmt.where(audit_event.c.pk < query.cursor)
    stmt = stmt.order_by(audit_event.c.pk.desc()).limit(query.count + 1)
    async with engine.connect() as conn:
        rows = [(int(pk), bytes(content)) for pk, content in await conn.execute(stmt)]
    page = rows[: query.count]
    next_cursor = page[-1][0] if len(rows) > query.count and page else None
    return AuditPage(tuple(page), next_cursor)
