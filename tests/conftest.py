"""Shared fixtures: a fresh database per test, on SQLite always and on PostgreSQL when one is configured.

PostgreSQL tests run when NOVAMIND_TEST_POSTGRES_URL points at a database we may wipe (scripts/test.sh
starts one); without it they are skipped, never faked.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

POSTGRES_URL = os.environ.get("NOVAMIND_TEST_POSTGRES_URL")
# Each test starts an app on a fresh database; publishing the terminology resources into every one would cost
# ~0.4 s a test. Tests about terminology pass `publish_terminology=True`; servers started by e2e tests inherit
# this unless they set it.
os.environ.setdefault("NOVAMIND_PUBLISH_TERMINOLOGY", "false")
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


async def _reset_postgres(url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}"
        return
    if not POSTGRES_URL:
        pytest.skip("NOVAMIND_TEST_POSTGRES_URL is not set (scripts/test.sh starts a PostgreSQL)")
    await _reset_postgres(POSTGRES_URL)
    yield POSTGRES_URL


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One signing-key directory for the session: generating RSA keys for every test would dominate its time."""
    return tmp_path_factory.mktemp("keys")
