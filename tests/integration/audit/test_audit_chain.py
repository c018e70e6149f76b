"""The hash chain: sealing is complete and one-at-a-time; verification finds any edit, removal or swap."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from fhir_server.audit.chain import GENESIS
from fhir_server.audit.trail import AuditTrail
from fhir_server.storage.audit_tables import audit_event, audit_event_entity
from fhir_server.storage.db import create_engine

from .conftest import BASE, read_of


async def _write(trail: AuditTrail, count: int) -> None:
    for i in range(count):
        trail.record(read_of(f"p{i}"))
    await trail.flush()


async def _as_intruder(engine: AsyncEngine) -> AsyncConnection:
    """Someone with direct database access, who first removes the append-only triggers."""
    conn = await engine.connect()
    if engine.dialect.name == "postgresql":
        await conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
        await conn.execute(text("ALTER TABLE audit_event_entity DISABLE TRIGGER USER"))
    else:
        for name in ("audit_event_no_delete", "audit_event_seal_only", "audit_event_entity_no_delete"):
            await conn.execute(text(f"DROP TRIGGER {name}"))
    return conn


async def _tamper(engine: AsyncEngine, *statements) -> None:
    conn = await _as_intruder(engine)
    try:
        for statement in statements:
            await conn.execute(statement)
        await conn.commit()
    finally:
        await conn.close()


async def test_an_empty_trail_verifies(trail: AuditTrail) -> None:
    result = await trail.verify()
    assert result.ok
    assert (result.checked, result.unsealed, result.head_seq, result.head_hash) == (0, 0, 0, GENESIS)


async def test_seal_chains_every_row_once_and_verify_accepts_the_chain(trail: AuditTrail) -> None:
    await _write(trail, 5)
    assert await trail.seal() == 5
    assert await trail.seal() == 0
    result = await trail.verify()
    assert result.ok
    assert (result.checked, result.unsealed, result.head_seq) == (5, 0, 5)


async def test_verify_counts_rows_not_yet_sealed(trail: AuditTrail) -> None:
    await _write(trail, 3)
    await trail.seal()
    await _write(trail, 2)
    result = await trail.verify()
    assert result.ok
    assert (result.checked, result.unsealed) == (3, 2)


async def test_the_head_hash_moves_with_every_sealed_row(trail: AuditTrail) -> None:
    await _write(trail, 1)
    await trail.seal()
    first = (await trail.verify()).head_hash
    await _write(trail, 1)
    await trail.seal()
    assert (await trail.verify()).head_hash != first


async def test_an_edited_audit_event_is_detected(engine: AsyncEngine, trail: AuditTrail) -> None:
    await _write(trail, 4)
    await trail.seal()
    pk = await _pk_at(engine, 3)
    await _tamper(
        engine, update(audit_event).where(audit_event.c.pk == pk).values(content=b'{"resourceType":"AuditEvent"}')
    )
    result = await trail.verify()
    assert not result.ok
    assert result.broken_at == 3
    assert "content was changed" in (result.problem or "")
    assert result.checked == 2


async def test_an_edited_search_column_is_detected(engine: AsyncEngine, trail: AuditTrail) -> None:
    await _write(trail, 2)
    await trail.seal()
    await _tamper(engine, update(audit_event).where(audit_event.c.seq == 1).values(subject="someone-else"))
    assert (await trail.verify()).broken_at == 1


async def test_a_removed_patient_reference_is_detected(engine: AsyncEngine, trail: AuditTrail) -> None:
    await _write(trail, 2)
    await trail.seal()
    pk = await _pk_at(engine, 2)
    await _tamper(
        engine,
        delete(audit_event_entity).where(
            audit_event_entity.c.event_pk == pk, audit_event_entity.c.reference == "Patient/p1"
        ),
    )
    assert (await trail.verify()).broken_at == 2


async def test_a_deleted_row_is_detected(engine: AsyncEngine, trail: AuditTrail) -> None:
    await _write(trail, 4)
    await trail.seal()
    pk = await _pk_at(engine, 2)
    await _tamper(
        engine,
        delete(audit_event_entity).where(audit_event_entity.c.event_pk == pk),
        delete(audit_event).where(audit_event.c.pk == pk),
    )
    result = await trail.verify()
    assert (result.ok, result.broken_at) == (False, 2)
    assert "removed" in (result.problem or "")


async def test_swapped_rows_are_detected(engine: AsyncEngine, trail: AuditTrail) -> None:
    await _write(trail, 4)
    await trail.seal()
    a, b = await _pk_at(engine, 2), await _pk_at(engine, 3)
    await _tamper(
        engine,
        update(audit_event).where(audit_event.c.pk == a).values(seq=-1),
        update(audit_event).where(audit_event.c.pk == b).values(seq=2),
        update(audit_event).where(audit_event.c.pk == a).values(seq=3),
    )
    result = await trail.verify()
    assert (result.ok, result.broken_at) == (False, 2)
    assert "re-ordered" in (result.problem or "")


async def test_rows_are_append_only_without_tampering_with_the_database(engine: AsyncEngine, trail: AuditTrail) -> None:
    await _write(trail, 2)
    await trail.seal()
    for statement in (
        delete(audit_event).where(audit_event.c.seq == 1),
        update(audit_event).where(audit_event.c.seq == 1).values(subject="x"),
        update(audit_event).where(audit_event.c.seq == 1).values(seq=9),
        delete(audit_event_entity),
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with engine.begin() as conn:
                await conn.execute(statement)
    assert (await trail.verify()).ok


async def test_concurrent_writers_and_sealers_produce_one_valid_chain(engine: AsyncEngine, database_url: str) -> None:
    # Two server processes (two engines, two trails) write and seal at the same time as in-transaction writes.
    other_engine = create_engine(database_url)
    first = AuditTrail(engine, base_url=BASE, flush_interval=0.01, seal_interval=0.01)
    second = AuditTrail(other_engine, base_url=BASE, flush_interval=0.01, seal_interval=0.01)
    await first.start()
    await second.start()

    async def buffered(trail: AuditTrail, n: int) -> None:
        for i in range(n):
            trail.record(read_of(f"b{i}"))
            await asyncio.sleep(0)

    async def in_transactions(trail: AuditTrail, n: int) -> None:
        for i in range(n):
            async with trail.engine.begin() as conn:
                await trail.record_in(conn, read_of(f"t{i}"))

    async def sealing(trail: AuditTrail, n: int) -> None:
        for _ in range(n):
            await trail.seal()

    try:
        await asyncio.gather(
            buffered(first, 200),
            buffered(second, 200),
            in_transactions(first, 30),
            in_transactions(second, 30),
            sealing(first, 10),
            sealing(second, 10),
        )
    finally:
        await first.close()
        await second.close()
        await other_engine.dispose()
    result = await first.verify()
    assert result.ok, result.problem
    assert (result.checked, result.unsealed) == (460, 0)


async def _pk_at(engine: AsyncEngine, seq: int) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(audit_event.c.pk).where(audit_event.c.seq == seq))).scalar_one())
