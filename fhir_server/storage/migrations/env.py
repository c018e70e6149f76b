"""Alembic environment: always run on a connection handed in by `fhir_server.storage.migrate`."""

from __future__ import annotations

from alembic import context

from fhir_server.storage.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached when someone runs the alembic CLI by hand
    raise RuntimeError("Run migrations through `novamind serve` or fhir_server.storage.migrate.upgrade().")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
