"""The one storage implementation: SQLAlchemy Core over SQLite or PostgreSQL.

A `UnitOfWork` is one database transaction. Every write in it (resource row, history row, index rows,
compartment rows) commits together or not at all. Index rows are buffered and written in bulk at flush
time, which is what makes 100-entry transaction bundles cheap; anything that searches inside a unit of
work flushes first so it sees its own writes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import and_, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from fhir_server.errors import Conflict
from fhir_server.fhir_models import dumps
from fhir_server.storage import tables as t
from fhir_server.storage.clock import now_us, to_instant


class Extractor(Protocol):
    def extract(self, resource: dict[str, Any]) -> dict[str, list[dict[str, Any]]]: ...

    def compartments(
        self, resource: dict[str, Any], rows: dict[str, list[dict[str, Any]]] | None = None
    ) -> list[tuple[str, str]]: ...


@dataclass(frozen=True, slots=True)
class StoredResource:
    pk: int
    res_type: str
    res_id: str
    version: int
    last_updated: int
    deleted: bool
    content: bytes | None
    method: str = ""


_CURRENT_COLS = (
    t.resource.c.pk,
    t.resource.c.res_type,
    t.resource.c.res_id,
    t.resource.c.version,
    t.resource.c.last_updated,
    t.resource.c.deleted,
    t.resource.c.content,
)


def _stored(row: Any) -> StoredResource:
    return StoredResource(*row)


@dataclass
class UnitOfWork:
    """One database transaction plus the index rows waiting to be written in bulk."""

    conn: AsyncConnection
    extractor: Extractor
    postgres: bool
    writable: bool = True
    _index_rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _compartment_rows: list[dict[str, Any]] = field(default_factory=list)
    _stale_pks: list[int] = field(default_factory=list)

    async def flush(self) -> None:
        """Write buffered index rows; call before any query that must see this unit's own writes."""
        if self._stale_pks:
            stale = self._stale_pks
            self._stale_pks = []
            for table in (*t.INDEX_TABLES.values(), t.compartment):
                await self.conn.execute(delete(table).where(table.c.resource_pk.in_(stale)))
        for kind, rows in self._index_rows.items():
            if rows:
                await self.conn.execute(insert(t.INDEX_TABLES[kind]), rows)
        self._index_rows = {}
        if self._compartment_rows:
            await self.conn.execute(insert(t.compartment), self._compartment_rows)
            self._compartment_rows = []

    async def lock(self, key: str) -> None:
        """Serialise writers that decide on the same key (conditional create/update on PostgreSQL).

        SQLite needs nothing here: the repository already admits one writing unit at a time.
        """
        if self.postgres:
            await self.conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": key})

    # ---- reads -------------------------------------------------------------------------------------------

    async def current(self, res_type: str, res_id: str, *, for_update: bool = False) -> StoredResource | None:
        stmt = select(*_CURRENT_COLS).where(t.resource.c.res_type == res_type, t.resource.c.res_id == res_id)
        if for_update and self.postgres:
            stmt = stmt.with_for_update()
        row = (await self.conn.execute(stmt)).first()
        return _stored(row) if row else None

    async def version(self, res_type: str, res_id: str, version: int) -> StoredResource | None:
        h = t.resource_history.c
        stmt = select(
            h.resource_pk, h.res_type, h.res_id, h.version, h.last_updated, h.deleted, h.content, h.method
        ).where(h.res_type == res_type, h.res_id == res_id, h.version == version)
        row = (await self.conn.execute(stmt)).first()
        return _stored(row) if row else None

    async def contents(self, pks: Sequence[int]) -> dict[int, StoredResource]:
        """Current versions by primary key (deleted ones omitted), for search pages and includes."""
        if not pks:
            return {}
        stmt = select(*_CURRENT_COLS).where(t.resource.c.pk.in_(list(pks)), t.resource.c.deleted.is_(False))
        return {row.pk: _stored(row) for row in await self.conn.execute(stmt)}

    async def history(
        self,
        *,
        res_type: str | None,
        res_id: str | None,
        since: int | None,
        at: int | None,
        count: int,
        offset: int,
    ) -> tuple[int, list[StoredResource]]:
        """Versions newest first, and how many there are in all."""
        h = t.resource_history.c
        conds = []
        if res_type:
            conds.append(h.res_type == res_type)
        if res_id:
            conds.append(h.res_id == res_id)
        if since is not None:
            conds.append(h.last_updated >= since)
        if at is not None:
            conds.append(h.last_updated <= at)
        where = and_(*conds) if conds else None
        total_stmt = select(func.count()).select_from(t.resource_history)
        page_stmt = select(
            h.resource_pk, h.res_type, h.res_id, h.version, h.last_updated, h.deleted, h.content, h.method
        )
        if where is not None:
            total_stmt = total_stmt.where(where)
            page_stmt = page_stmt.where(where)
        total = (await self.conn.execute(total_stmt)).scalar_one()
        page_stmt = page_stmt.order_by(h.last_updated.desc(), h.pk.desc()).limit(count).offset(offset)
        rows = [_stored(r) for r in await self.conn.execute(page_stmt)]
        return int(total), rows

    # ---- writes ------------------------------------------------------------------------------------------

    async def save(
        self,
        res_type: str,
        res_id: str,
        data: dict[str, Any],
        *,
        current: StoredResource | None,
        method: str,
    ) -> StoredResource:
        """Write a new version of `res_type/res_id` on top of `current` (None: it does not exist yet).

        The UPDATE is guarded by the version we read, so two concurrent writers can never both win: the
        loser gets Conflict instead of silently overwriting (no lost updates).
        """
        last = current.last_updated if current else 0
        stamp = max(now_us(), last + 1)
        version = (current.version + 1) if current else 1
        meta = dict(data.get("meta") or {})
        meta["versionId"] = str(version)
        meta["lastUpdated"] = to_instant(stamp)
        data["meta"] = meta
        data["id"] = res_id
        content = dumps(data)
        if current is None:
            try:
                pk = (
                    await self.conn.execute(
                        insert(t.resource)
                        .values(
                            res_type=res_type,
                            res_id=res_id,
                            version=version,
                            last_updated=stamp,
                            deleted=False,
                            content=content,
                        )
                        .returning(t.resource.c.pk)
                    )
                ).scalar_one()
            except IntegrityError as exc:
                raise Conflict(
                    f"{res_type}/{res_id} was created by another request at the same moment; retry."
                ) from exc
        else:
            pk = current.pk
            result = await self.conn.execute(
                update(t.resource)
                .where(t.resource.c.pk == pk, t.resource.c.version == current.version)
                .values(version=version, last_updated=stamp, deleted=False, content=content)
            )
            if result.rowcount != 1:
                raise Conflict(
                    f"{res_type}/{res_id} was changed by another request while this one was being processed; "
                    "read it again and retry."
                )
            self._mark_stale(pk)
        await self._insert_history(pk, res_type, res_id, version, stamp, False, method, content)
        self._buffer_indexes(pk, res_type, data)
        return StoredResource(pk, res_type, res_id, version, stamp, False, content, method)

    async def delete(self, current: StoredResource) -> StoredResource:
        stamp = max(now_us(), current.last_updated + 1)
        version = current.version + 1
        result = await self.conn.execute(
            update(t.resource)
            .where(t.resource.c.pk == current.pk, t.resource.c.version == current.version)
            .values(version=version, last_updated=stamp, deleted=True, content=None)
        )
        if result.rowcount != 1:
            raise Conflict(
                f"{current.res_type}/{current.res_id} was changed by another request during the delete; retry."
            )
        self._mark_stale(current.pk)
        await self._insert_history(current.pk, current.res_type, current.res_id, version, stamp, True, "DELETE", None)
        return StoredResource(current.pk, current.res_type, current.res_id, version, stamp, True, None, "DELETE")

    async def _insert_history(
        self,
        pk: int,
        res_type: str,
        res_id: str,
        version: int,
        stamp: int,
        deleted: bool,
        method: str,
        content: bytes | None,
    ) -> None:
        await self.conn.execute(
            insert(t.resource_history).values(
                resource_pk=pk,
                res_type=res_type,
                res_id=res_id,
                version=version,
                last_updated=stamp,
                deleted=deleted,
                method=method,
                content=content,
            )
        )

    def _mark_stale(self, pk: int) -> None:
        """The pk's index rows (written or still buffered) describe an old version: drop them."""
        self._stale_pks.append(pk)
        for kind, rows in self._index_rows.items():
            if any(r["resource_pk"] == pk for r in rows):
                self._index_rows[kind] = [r for r in rows if r["resource_pk"] != pk]
        if any(r["resource_pk"] == pk for r in self._compartment_rows):
            self._compartment_rows = [r for r in self._compartment_rows if r["resource_pk"] != pk]

    def _buffer_indexes(self, pk: int, res_type: str, data: dict[str, Any]) -> None:
        extracted = self.extractor.extract(data)
        for kind, rows in extracted.items():
            bucket = self._index_rows.setdefault(kind, [])
            for row in rows:
                bucket.append({**row, "resource_pk": pk, "res_type": res_type})
        for comp_type, comp_id in self.extractor.compartments(data, extracted):
            self._compartment_rows.append({"resource_pk": pk, "comp_type": comp_type, "comp_id": comp_id})


class ResourceRepository:
    """Hands out units of work; on SQLite it admits one writer at a time (the file has one write lock)."""

    def __init__(self, engine: AsyncEngine, extractor: Extractor) -> None:
        self.engine = engine
        self.extractor = extractor
        self.postgres = engine.dialect.name == "postgresql"
        self._sqlite_writer = asyncio.Lock() if not self.postgres else None

    @contextlib.asynccontextmanager
    async def unit_of_work(self, *, write: bool = True) -> AsyncIterator[UnitOfWork]:
        lock = self._sqlite_writer if write else None
        async with lock if lock is not None else contextlib.nullcontext(), self.engine.begin() as conn:
            uow = UnitOfWork(conn, self.extractor, self.postgres, write)
            yield uow
            if write:
                await uow.flush()
