"""The hash chain over audit rows: sealing new rows onto it, and verifying all of it.

Why seal after the fact instead of chaining at insert time: audit rows are written by many concurrent
transactions, which commit out of primary-key order; chaining on insert would need one global lock held
for the whole of every writing transaction. Instead rows are inserted unchained and a sealer, one at a
time (a PostgreSQL advisory lock; on SQLite, the database's single write lock, taken before anything is
read), appends the rows it finds committed but unsealed, in primary-key order among them:

    seq  = previous seq + 1                       (chain position, gap-free from 1)
    hash = SHA-256(prev_hash || canonical row)    (prev_hash of the first row: 64 zeros)

The canonical row covers every stored column except the chain's own (pk, time, kind, codes, who, from
where, the AuditEvent bytes) and the row's entity references, so editing, deleting or re-ordering a sealed
row, or one of its `audit_event_entity` rows, breaks the chain at that row. Verification recomputes the
chain from the first row; the head hash it reports can be anchored outside the database (a deleted tail
is only detectable against such an anchor). Rows not yet sealed are counted, never trusted: the background
writer seals every second, which bounds the window in which an unsealed row could vanish unnoticed.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from fhir_server.storage.audit_tables import audit_event, audit_event_entity

GENESIS = "0" * 64
_DOMAIN = b"novamind-audit-chain-v1"
_SEAL_LOCK_KEY = 7_302_118_555  # PostgreSQL advisory lock shared by every sealer (migrations use ...554)

_CONTENT_COLUMNS = (
    "pk",
    "recorded",
    "kind",
    "type_code",
    "subtype",
    "action",
    "outcome",
    "client_id",
    "subject",
    "fhir_user",
    "source_ip",
    "content",
)


@dataclass(frozen=True, slots=True)
class AuditVerification:
    """The result of recomputing the chain. `ok` is False from the first broken link on."""

    checked: int
    unsealed: int
    head_seq: int
    head_hash: str
    broken_at: int | None = None  # the chain position (seq) where verification failed
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def row_hash(prev_hash: str, row: Any, references: Iterable[str]) -> str:
    """SHA-256 over the previous hash and an unambiguous (length-prefixed) encoding of the row."""
    digest = hashlib.sha256(_DOMAIN)
    digest.update(bytes.fromhex(prev_hash))
    for name in _CONTENT_COLUMNS:
        digest.update(_field(getattr(row, name)))
    refs = sorted(references)
    digest.update(len(refs).to_bytes(8, "big"))
    for ref in refs:
        digest.update(_field(ref))
    return digest.hexdigest()


def _field(value: str | int | bytes | None) -> bytes:
    if value is None:
        return b"N"
    if isinstance(value, int):
        return b"i" + value.to_bytes(9, "big", signed=True)
    data = value.encode() if isinstance(value, str) else bytes(value)
    return b"b" + len(data).to_bytes(8, "big") + data


async def seal(engine: AsyncEngine, *, batch: int = 1000) -> int:
    """Extend the chain over every committed, unsealed row; returns how many rows were sealed."""
    async with engine.connect() as conn:  # the common case, nothing to seal, takes no lock
        if (await conn.execute(select(audit_event.c.pk).where(audit_event.c.seq.is_(None)).limit(1))).first() is None:
            return 0
    total = 0
    while True:
        async with engine.begin() as conn:
            sealed = await _seal_batch(conn, batch)
        total += sealed
        if sealed < batch:
            return total


async def _seal_batch(conn: AsyncConnection, batch: int) -> int:
    await _take_seal_lock(conn)
    head = (
        await conn.execute(
            select(audit_event.c.seq, audit_event.c.hash)
            .where(audit_event.c.seq.is_not(None))
            .order_by(audit_event.c.seq.desc())
            .limit(1)
        )
    ).first()
    seq, prev = (int(head.seq), str(head.hash)) if head is not None else (0, GENESIS)
    rows = (
        await conn.execute(
            select(*(audit_event.c[name] for name in _CONTENT_COLUMNS))
            .where(audit_event.c.seq.is_(None))
            .order_by(audit_event.c.pk)
            .limit(batch)
        )
    ).all()
    if not rows:
        return 0
    references = await _references(conn, [row.pk for row in rows])
    updates = []
    for row in rows:
        seq += 1
        digest = row_hash(prev, row, references.get(row.pk, ()))
        updates.append({"row_pk": row.pk, "new_seq": seq, "new_prev": prev, "new_hash": digest})
        prev = digest
    await conn.execute(
        update(audit_event)
        .where(audit_event.c.pk == bindparam("row_pk"), audit_event.c.seq.is_(None))
        .values(seq=bindparam("new_seq"), prev_hash=bindparam("new_prev"), hash=bindparam("new_hash")),
        updates,
    )
    return len(rows)


async def _take_seal_lock(conn: AsyncConnection) -> None:
    """Make this transaction the only sealer until it ends, before it reads the chain head."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SEAL_LOCK_KEY})
        return
    await take_write_lock(conn)


async def take_write_lock(conn: AsyncConnection) -> None:
    """SQLite: make the transaction hold the database's write lock before it reads anything.

    A write statement, even one that changes nothing, begins the transaction with the write lock (waiting
    for it under the busy timeout), so what the transaction reads next cannot be overtaken by another writer.
    """
    await conn.execute(update(audit_event).where(audit_event.c.pk < 0).values(seq=None))


async def verify(engine: AsyncEngine, *, batch: int = 1000) -> AuditVerification:
    """Recompute every sealed row's hash in chain order; report the first mismatch or gap."""
    checked, prev, expected = 0, GENESIS, 1
    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            # One snapshot for the whole walk, so a seal committing meanwhile cannot be half seen.
            await conn.execution_options(isolation_level="REPEATABLE READ")
        while True:
            rows = (
                await conn.execute(
                    select(
                        *(audit_event.c[name] for name in _CONTENT_COLUMNS),
                        audit_event.c.seq,
                        audit_event.c.prev_hash,
                        audit_event.c.hash,
                    )
                    .where(audit_event.c.seq >= expected)
                    .order_by(audit_event.c.seq)
                    .limit(batch)
                )
            ).all()
            if not rows:
                return AuditVerification(checked, await _unsealed(conn), expected - 1, prev)
            references = await _references(conn, [row.pk for row in rows])
            for row in rows:
                problem = _check(row, expected, prev, references.get(row.pk, ()))
                if problem is not None:
                    unsealed = await _unsealed(conn)
                    return AuditVerification(checked, unsealed, expected - 1, prev, broken_at=expected, problem=problem)
                checked, prev, expected = checked + 1, row.hash, expected + 1


async def _references(conn: AsyncConnection, pks: Sequence[int]) -> dict[int, list[str]]:
    refs: dict[int, list[str]] = defaultdict(list)
    stmt = select(audit_event_entity.c.event_pk, audit_event_entity.c.reference).where(
        audit_event_entity.c.event_pk.in_(pks)
    )
    for event_pk, reference in await conn.execute(stmt):
        refs[event_pk].append(reference)
    return refs


def _check(row: Any, expected: int, prev: str, references: Iterable[str]) -> str | None:
    if row.seq != expected:
        return f"chain position {expected} is missing (the next sealed row is at {row.seq}): a row was removed"
    if row.prev_hash != prev:
        return f"row {row.pk} at position {expected} does not follow the previous row: rows were re-ordered"
    if row_hash(prev, row, references) != row.hash:
        return f"row {row.pk} at position {expected} does not match its hash: its content was changed"
    return None


async def _unsealed(conn: AsyncConnection) -> int:
    """Rows not chained yet, counted after the walk: a row checked by the walk is never also reported unsealed."""
    query = select(func.count()).select_from(audit_event).where(audit_event.c.seq.is_(None))
    return int((await conn.execute(query)).scalar_one())
