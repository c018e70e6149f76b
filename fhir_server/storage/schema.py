"""The whole database schema in one `MetaData`: the FHIR store plus the tables of the auth and audit modules.

Table modules register themselves on `fhir_server.storage.tables.metadata` when imported; importing them all
here gives migrations and the schema check one complete picture without import cycles.
"""

from __future__ import annotations

from fhir_server.storage import audit_tables, auth_tables  # noqa: F401  (registers their tables)
from fhir_server.storage.tables import metadata

__all__ = ["metadata"]
