"""Tables of the hash-chained audit trail.

Audit rows are written on every request that touches patient data, so they are kept cheap: not generic FHIR
resources with search-index rows, but one row per event holding the AuditEvent JSON (built once, served as
is) beside the few columns AuditEvent search needs, plus one `audit_event_entity` row per resource the event
is about (what `patient=` and `entity=` match). The chain columns (`seq`, `prev_hash`, `hash`) are NULL
until the sealer (`fhir_server.audit.chain`) extends the hash chain over the row; nothing else ever updates
or deletes an audit row.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, LargeBinary, PrimaryKeyConstraint, String, Table

from fhir_server.storage.tables import PK, metadata

audit_event = Table(
    "audit_event",
    metadata,
    Column("pk", PK, primary_key=True, autoincrement=True),
    Column("recorded", BigInteger, nullable=False),  # microseconds since the epoch, UTC
    Column("kind", String(16), nullable=False),
    Column("type_code", String(16), nullable=False),
    Column("subtype", String(32), nullable=False),
    Column("action", String(1), nullable=False),
    Column("outcome", String(2), nullable=False),
    Column("client_id", String(255), nullable=True),
    Column("subject", String(255), nullable=True),
    Column("fhir_user", String(255), nullable=True),
    Column("source_ip", String(64), nullable=True),
    # The AuditEvent JSON without `id` (the id is `pk`, spliced in when served).
    Column("content", LargeBinary, nullable=False),
    # Chain position (1, 2, ...), the previous row's hash and this row's hash, hex SHA-256; set once by seal().
    Column("seq", BigInteger, nullable=True),
    Column("prev_hash", String(64), nullable=True),
    Column("hash", String(64), nullable=True),
    Index("ix_audit_event_seq", "seq", unique=True),
    Index("ix_audit_event_recorded", "recorded"),
    Index("ix_audit_event_fhir_user", "fhir_user"),
    Index("ix_audit_event_subject", "subject"),
    Index("ix_audit_event_client_id", "client_id"),
)

audit_event_entity = Table(
    "audit_event_entity",
    metadata,
    # No ON DELETE CASCADE: deleting an event that names a resource fails, one more obstacle to tampering.
    Column("event_pk", ForeignKey("audit_event.pk"), nullable=False),
    Column("reference", String(255), nullable=False),  # "Type/id", without version
    PrimaryKeyConstraint("event_pk", "reference"),
    Index("ix_audit_event_entity_reference", "reference", "event_pk"),
)
