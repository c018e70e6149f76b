"""`novamind audit verify` on the data directory `novamind serve` uses: seals, verifies, exit 1 on tampering."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from fhir_server.audit.trail import AuditTrail
from fhir_server.cli import main
from fhir_server.settings import Settings
from fhir_server.storage.db import create_engine
from fhir_server.storage.migrate import upgrade

from .conftest import BASE, read_of


async def _write_unsealed(data_dir: Path, count: int) -> None:
    engine = create_engine(Settings(data_dir=data_dir).resolved_database_url())
    await upgrade(engine)
    trail = AuditTrail(engine, base_url=BASE)
    for i in range(count):
        trail.record(read_of(f"p{i}"))
    await trail.flush()
    await engine.dispose()


async def _edit_first_row(data_dir: Path) -> None:
    engine = create_engine(Settings(data_dir=data_dir).resolved_database_url())
    async with engine.begin() as conn:
        await conn.execute(text("DROP TRIGGER audit_event_seal_only"))
        await conn.execute(text("UPDATE audit_event SET source_ip = '192.0.2.1' WHERE seq = 1"))
    await engine.dispose()


def test_verify_seals_new_rows_and_reports_the_head(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(_write_unsealed(tmp_path, 3))
    assert main(["audit", "verify", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "audit trail: OK" in out
    assert "rows sealed now: 3" in out
    assert "rows verified: 3" in out
    assert "head: position 3, hash " in out


def test_verify_without_sealing_leaves_new_rows_unsealed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(_write_unsealed(tmp_path, 2))
    assert main(["audit", "verify", "--no-seal", "--data-dir", str(tmp_path)]) == 0
    assert "rows not yet sealed: 2" in capsys.readouterr().out


def test_verify_exits_1_and_says_where_the_chain_breaks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(_write_unsealed(tmp_path, 3))
    assert main(["audit", "verify", "--data-dir", str(tmp_path)]) == 0
    asyncio.run(_edit_first_row(tmp_path))
    capsys.readouterr()
    assert main(["audit", "verify", "--data-dir", str(tmp_path)]) == 1
    assert "TAMPERED at chain position 1" in capsys.readouterr().out
