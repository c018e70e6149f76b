"""The schema: current resources, their history, one index table per search-parameter type.

Instants are stored as integer microseconds since the Unix epoch (UTC) so that range comparisons behave
identically on SQLite and PostgreSQL; open ends of a range use `MIN_INSTANT` / `MAX_INSTANT`.
Every index row points at `resource.pk` and is rewritten with each new version, so index tables only ever
describe current, non-deleted versions.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

MIN_INSTANT = -(2**62)
MAX_INSTANT = 2**62

# SQLite only auto-increments an `INTEGER PRIMARY KEY`; PostgreSQL wants a 64-bit identity.
PK = BigInteger().with_variant(Integer, "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

resource = Table(
    "resource",
    metadata,
    Column("pk", PK, primary_key=True, autoincrement=True),
    Column("res_type", String(64), nullable=False),
    Column("res_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("last_updated", BigInteger, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    # The exact JSON served on reads (UTF-8, with meta filled in); never re-validated on the read path.
    Column("content", LargeBinary, nullable=True),
    UniqueConstraint("res_type", "res_id"),
    Index("ix_resource_type_updated", "res_type", "last_updated"),
)

resource_history = Table(
    "resource_history",
    metadata,
    Column("pk", PK, primary_key=True, autoincrement=True),
    Column("resource_pk", ForeignKey("resource.pk", ondelete="CASCADE"), nullable=False),
    Column("res_type", String(64), nullable=False),
    Column("res_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("last_updated", BigInteger, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("method", String(8), nullable=False),
    Column("content", LargeBinary, nullable=True),
    UniqueConstraint("res_type", "res_id", "version"),
    Index("ix_history_updated", "last_updated"),
    Index("ix_history_type_updated", "res_type", "last_updated"),
)


def _index_table(name: str, *columns: Column, indexes: tuple[tuple[str, ...], ...] = ()) -> Table:
    """Index tables share their first columns: which resource, which parameter, which composite group."""
    table = Table(
        name,
        metadata,
        Column("id", PK, primary_key=True, autoincrement=True),
        Column("resource_pk", ForeignKey("resource.pk", ondelete="CASCADE"), nullable=False, index=True),
        Column("res_type", String(64), nullable=False),
        Column("param", String(128), nullable=False),
        # Rows produced from one element of a composite parameter share `grp` so components can be matched
        # together; plain parameters leave it NULL.
        Column("grp", Integer, nullable=True),
        *columns,
    )
    for cols in indexes:
        Index(f"ix_{name}_{'_'.join(cols)}", *(table.c[c] for c in cols))
    return table


idx_string = _index_table(
    "idx_string",
    Column("value", String(512), nullable=False),  # normalised: lower case, accents removed
    Column("value_exact", String(512), nullable=False),
    indexes=(("res_type", "param", "value"),),
)

idx_token = _index_table(
    "idx_token",
    Column("system", String(512), nullable=True),
    Column("code", String(512), nullable=True),
    Column("text", String(512), nullable=True),  # display / CodeableConcept.text, normalised, for :text
    indexes=(("res_type", "param", "code", "system"),),
)

idx_date = _index_table(
    "idx_date",
    Column("low", BigInteger, nullable=False),
    Column("high", BigInteger, nullable=False),
    indexes=(("res_type", "param", "low"), ("res_type", "param", "high")),
)

idx_number = _index_table(
    "idx_number",
    Column("value", Float, nullable=False),
    Column("low", Float, nullable=False),
    Column("high", Float, nullable=False),
    indexes=(("res_type", "param", "value"),),
)

idx_quantity = _index_table(
    "idx_quantity",
    Column("value", Float, nullable=False),
    Column("low", Float, nullable=False),
    Column("high", Float, nullable=False),
    Column("system", String(256), nullable=True),
    Column("code", String(128), nullable=True),
    Column("unit", String(128), nullable=True),
    # The value converted to the UCUM canonical unit, so gt7|http://unitsofmeasure.org|h matches minutes.
    Column("canonical_value", Float, nullable=True),
    Column("canonical_code", String(128), nullable=True),
    indexes=(("res_type", "param", "value"), ("res_type", "param", "canonical_code", "canonical_value")),
)

idx_reference = _index_table(
    "idx_reference",
    Column("target_type", String(64), nullable=True),
    Column("target_id", String(128), nullable=True),
    Column("target_version", String(64), nullable=True),
    Column("url", String(1024), nullable=True),  # absolute / canonical references
    indexes=(("res_type", "param", "target_id", "target_type"), ("target_type", "target_id")),
)

idx_uri = _index_table(
    "idx_uri",
    Column("value", String(1024), nullable=False),
    indexes=(("res_type", "param", "value"),),
)

# Which Patient compartment(s) each current resource belongs to (R4 CompartmentDefinition Patient).
compartment = Table(
    "compartment",
    metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("resource_pk", ForeignKey("resource.pk", ondelete="CASCADE"), nullable=False, index=True),
    Column("comp_type", String(64), nullable=False),
    Column("comp_id", String(128), nullable=False),
    Index("ix_compartment_lookup", "comp_type", "comp_id"),
)

# A search's ordered result list, frozen when the first page is served so paging stays correct while data
# changes, and shared by every API process (it lives in the database, not in memory).
search_cache = Table(
    "search_cache",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("created", BigInteger, nullable=False),
    Column("expires", BigInteger, nullable=False, index=True),
    Column("res_type", String(64), nullable=True),
    Column("query", Text, nullable=False),
    Column("total", Integer, nullable=False),
    Column("pks", Text, nullable=False),  # JSON list of resource.pk in result order
)

INDEX_TABLES = {
    "string": idx_string,
    "token": idx_token,
    "date": idx_date,
    "number": idx_number,
    "quantity": idx_quantity,
    "reference": idx_reference,
    "uri": idx_uri,
}
