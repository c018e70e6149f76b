"""A database with the real schema, filled through the real extractor, and a `search` helper.

Index rows are produced by `IndexExtractor` exactly as the write path will produce them, so these tests
check the extraction and SQL contracts together.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from fhir_server.search.extract import IndexExtractor
from fhir_server.search.params import parse_search
from fhir_server.search.registry import SearchRegistry
from fhir_server.storage.search_sql import build_count, build_search
from fhir_server.storage.tables import INDEX_TABLES, compartment, metadata, resource

Search = Callable[..., Awaitable[list[str]]]
Store = Callable[..., Awaitable[int]]


@pytest.fixture(scope="session")
def registry() -> SearchRegistry:
    return SearchRegistry.load_default()


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[AsyncConnection]:
    engine = create_async_engine(database_url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    async with engine.connect() as connection:
        yield connection
    await engine.dispose()


@pytest.fixture
def store(conn: AsyncConnection, registry: SearchRegistry) -> Store:
    extractor = IndexExtractor(registry)

    async def _store(res: dict[str, Any], *, last_updated: int = 0, deleted: bool = False) -> int:
        row = {
            "res_type": res["resourceType"],
            "res_id": res["id"],
            "version": 1,
            "last_updated": last_updated,
            "deleted": deleted,
            "content": json.dumps(res).encode(),
        }
        pk = (await conn.execute(insert(resource).values(row).returning(resource.c.pk))).scalar_one()
        rows = extractor.extract(res)
        for index_type, index_rows in rows.items():
            if index_rows:
                extra = {"resource_pk": pk, "res_type": res["resourceType"]}
                await conn.execute(insert(INDEX_TABLES[index_type]), [{**r, **extra} for r in index_rows])
        for comp_type, comp_id in extractor.compartments(res, rows):
            await conn.execute(insert(compartment).values(resource_pk=pk, comp_type=comp_type, comp_id=comp_id))
        return pk

    return _store


@pytest.fixture
def search(conn: AsyncConnection, registry: SearchRegistry) -> Search:
    async def _search(
        res_type: str | None, *pairs: tuple[str, str], compartment_of: tuple[str, str] | None = None
    ) -> list[str]:
        query = parse_search(registry, res_type, pairs)
        pks = [r[0] for r in await conn.execute(build_search(query, registry, compartment=compartment_of))]
        ids = dict((await conn.execute(select(resource.c.pk, resource.c.res_id))).all())
        count = (await conn.execute(build_count(query, registry, compartment=compartment_of))).scalar_one()
        assert count == len(pks)
        return [ids[pk] for pk in pks]

    return _search
