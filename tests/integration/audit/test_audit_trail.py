"""Writing audit records: in the caller's transaction, or buffered for the background writer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import orjson
import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from fhir_server.audit.trail import AuditTrail
from fhir_server.storage.audit_tables import audit_event, audit_event_entity
from fhir_server.storage.tables import search_cache

from .conftest import BASE, read_of


async def _count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(audit_event))).scalar_one())


class _Rollback(Exception):
    pass


async def test_record_in_commits_with_the_callers_change(engine: AsyncEngine, trail: AuditTrail) -> None:
    async with engine.begin() as conn:
        await trail.record_in(conn, read_of("p1"))
    assert await _count(engine) == 1


async def test_record_in_rolls_back_with_the_callers_change(engine: AsyncEngine, trail: AuditTrail) -> None:
    with pytest.raises(_Rollback):
        async with engine.begin() as conn:
            await conn.execute(
                insert(search_cache).values(id="x", created=0, expires=1, res_type=None, query="", total=0, pks="")
            )
            await trail.record_in(conn, read_of("p1"))
            raise _Rollback
    assert await _count(engine) == 0


async def test_record_returns_at_once_and_the_background_writer_stores_it(
    engine: AsyncEngine, trail: AuditTrail
) -> None:
    await trail.start()
    trail.record(read_of("p1"))
    assert trail.pending == 1
    for _ in range(500):
        if await _count(engine) == 1:
            break
        await asyncio.sleep(0.02)
    assert await _count(engine) == 1
    assert trail.pending == 0


async def test_flush_writes_every_buffered_record(engine: AsyncEngine, trail: AuditTrail) -> None:
    for i in range(25):
        trail.record(read_of(f"p{i}"))
    await trail.flush()
    assert await _count(engine) == 25


async def test_close_writes_what_is_still_buffered_and_seals_it(engine: AsyncEngine) -> None:
    trail = AuditTrail(engine, base_url=BASE, flush_interval=60, seal_interval=60)
    await trail.start()
    trail.record(read_of("p1"))
    await trail.close()
    result = await trail.verify()
    assert (result.checked, result.unsealed, result.ok) == (1, 0, True)


async def test_the_background_writer_seals_what_it_wrote(engine: AsyncEngine, trail: AuditTrail) -> None:
    await trail.start()
    trail.record(read_of("p1"))
    for _ in range(500):
        result = await trail.verify()
        if result.checked == 1:
            break
        await asyncio.sleep(0.02)
    assert (result.checked, result.unsealed) == (1, 0)


async def test_a_buffered_record_keeps_the_time_it_was_recorded_at(engine: AsyncEngine) -> None:
    moment = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    trail = AuditTrail(engine, base_url=BASE, clock=lambda: moment)
    trail.record(read_of("p1"))
    await trail.flush()
    async with engine.connect() as conn:
        content = (await conn.execute(select(audit_event.c.content))).scalar_one()
    assert orjson.loads(content)["recorded"] == "2026-11-26T03:00:00.000000Z"


async def test_each_patient_and_resource_is_indexed_for_search(engine: AsyncEngine, trail: AuditTrail) -> None:
    async with engine.begin() as conn:
        await trail.record_in(conn, read_of("p1"))
    async with engine.connect() as conn:
        refs = set((await conn.execute(select(audit_event_entity.c.reference))).scalars())
    assert refs == {"Patient/p1", "Observation/p1-obs"}


async def test_a_failed_write_keeps_the_records_for_the_next_attempt(engine: AsyncEngine, tmp_path) -> None:
    from fhir_server.storage.db import create_engine

    broken = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'no-tables.sqlite3'}")
    trail = AuditTrail(broken, base_url=BASE)
    trail.record(read_of("p1"))
    with pytest.raises(Exception, match="audit_event"):
        await trail.flush()
    assert trail.pending == 1
    await broken.dispose()


async def test_values_too_long_for_their_search_column_never_fail_the_write(
    engine: AsyncEngine, trail: AuditTrail
) -> None:
    from dataclasses import replace

    long_id = "x" * 300
    record = replace(
        read_of("p1"), subject=long_id + "\x00", entities=(f"Observation/{long_id}a", f"Observation/{long_id}b")
    )
    async with engine.begin() as conn:
        await trail.record_in(conn, record)
    async with engine.connect() as conn:
        row = (await conn.execute(select(audit_event.c.subject, audit_event.c.content))).one()
    assert row.subject == long_id[:255]
    assert orjson.loads(row.content)["agent"][0]["altId"] == long_id + "\x00"


async def test_a_row_committed_after_a_seal_ran_is_sealed_by_a_later_one(
    engine: AsyncEngine, trail: AuditTrail
) -> None:
    await trail.start()
    async with engine.begin() as conn:
        await trail.record_in(conn, read_of("p1"))
        await asyncio.sleep(0.3)  # the writer seals (nothing visible yet) while this transaction is open
    for _ in range(500):
        result = await trail.verify()
        if result.checked == 1:
            break
        await asyncio.sleep(0.02)
    assert (result.checked, result.unsealed) == (1, 0)
