"""A migrated database and an audit trail over it (the real tables, triggers and SQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from fhir_server.audit.records import AuditKind, AuditOutcome, AuditRecord
from fhir_server.audit.trail import AuditTrail
from fhir_server.storage.db import create_engine
from fhir_server.storage.migrate import upgrade

BASE = "http://testserver/fhir"


def read_of(patient: str, *, subject: str = "dr.rivera", client_id: str = "chart-app") -> AuditRecord:
    """A clinician's read of one Observation of `patient`."""
    return AuditRecord(
        kind=AuditKind.REST,
        action="R",
        interaction="read",
        outcome=AuditOutcome.SUCCESS,
        client_id=client_id,
        subject=subject,
        fhir_user="Practitioner/p1",
        role="psychiatrist",
        patients=(patient,),
        entities=(f"Observation/{patient}-obs",),
        source_ip="10.0.0.7",
    )


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await upgrade(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
async def trail(engine: AsyncEngine) -> AsyncIterator[AuditTrail]:
    trail = AuditTrail(engine, base_url=BASE, flush_interval=0.05, seal_interval=0.1)
    yield trail
    await trail.close()
