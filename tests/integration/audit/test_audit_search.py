"""AuditEvent search over the real audit tables: each parameter, its alternatives (,) and repetitions (AND)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from fhir_server.audit.records import AuditKind, AuditOutcome, AuditRecord
from fhir_server.audit.search import find, parse_query
from fhir_server.audit.trail import AuditTrail

from .conftest import BASE, read_of

T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


async def _seed(trail: AuditTrail) -> None:
    """Three events an hour apart: p1 read by dr.rivera, p2 read by nurse.kim, p1 updated (a failure)."""
    trail.record(replace(read_of("p1"), recorded=T0))
    trail.record(replace(read_of("p2", subject="nurse.kim", client_id="ward-app"), recorded=T0 + timedelta(hours=1)))
    trail.record(
        AuditRecord(
            kind=AuditKind.REST,
            action="U",
            interaction="update",
            outcome=AuditOutcome.MINOR_FAILURE,
            client_id="chart-app",
            subject="dr.rivera",
            fhir_user="Practitioner/p1",
            patients=("p1",),
            entities=("Condition/c1",),
            recorded=T0 + timedelta(hours=2),
        )
    )
    await trail.flush()


async def _search(trail: AuditTrail, query: str, *, count: int = 20) -> list[str]:
    pairs = [tuple(p.split("=", 1)) for p in query.split("&") if p]
    page = await find(trail.engine, parse_query(pairs, base_url=BASE, default_count=count, max_count=100))
    return [str(pk) for pk, _ in page.rows]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("patient=p1", ["3", "1"]),
        ("patient=Patient/p2", ["2"]),
        (f"patient={BASE}/Patient/p2", ["2"]),
        ("entity=Condition/c1", ["3"]),
        ("entity=Patient/p1,Patient/p2", ["3", "2", "1"]),
        ("agent=Practitioner/p1", ["3", "2", "1"]),
        ("agent:identifier=ward-app", ["2"]),
        ("altid=nurse.kim", ["2"]),
        ("action=U", ["3"]),
        ("outcome=4", ["3"]),
        ("subtype=read", ["2", "1"]),
        ("subtype=http://hl7.org/fhir/restful-interaction|update", ["3"]),
        ("type=rest", ["3", "2", "1"]),
        ("date=ge2026-01-10T13:00:00Z", ["3", "2"]),
        ("date=lt2026-01-10T13:00:00Z", ["1"]),
        ("date=2026-01-10", ["3", "2", "1"]),
        ("date=gt2026-01-10", []),
        ("date=ge2026-01-10T12:30:00Z&date=le2026-01-10T13:30:00Z", ["2"]),
        ("patient=p1&action=R", ["1"]),
        ("_id=2", ["2"]),
    ],
)
async def test_search_parameter(trail: AuditTrail, query: str, expected: list[str]) -> None:
    await _seed(trail)
    assert await _search(trail, query) == expected


async def test_a_page_names_the_cursor_of_the_next_page_until_the_last(trail: AuditTrail) -> None:
    await _seed(trail)
    first = await find(trail.engine, parse_query([], base_url=BASE, default_count=2, max_count=100))
    assert [pk for pk, _ in first.rows] == [3, 2]
    assert first.next_cursor == 2
    last = await find(trail.engine, parse_query([("_cursor", "2")], base_url=BASE, default_count=2, max_count=100))
    assert ([pk for pk, _ in last.rows], last.next_cursor) == ([1], None)
