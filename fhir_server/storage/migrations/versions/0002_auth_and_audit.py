"""SMART authorization server and audit trail tables

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 04:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _upgrade_auth()
    _upgrade_audit()


def downgrade() -> None:
    _downgrade_audit()
    _downgrade_auth()


# ---- authorization server (fhir_server/storage/auth_tables.py) ---------------------------------------


_HASH = sa.String(length=64)


def _upgrade_auth() -> None:
    op.create_table(
        "auth_client",
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("redirect_uris", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("jwks", sa.Text(), nullable=True),
        sa.Column("jwks_uri", sa.String(length=1024), nullable=True),
        sa.Column("can_launch", sa.Boolean(), nullable=False),
        sa.Column("secret_hash", sa.String(length=256), nullable=True),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_auth_client")),
    )
    op.create_table(
        "auth_user",
        sa.Column("username", sa.String(length=128), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=True),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("fhir_user", sa.String(length=192), nullable=True),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_auth_user")),
    )
    op.create_table(
        "auth_session",
        sa.Column("session_hash", _HASH, nullable=False),
        sa.Column("username", sa.String(length=128), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("expires", sa.BigInteger(), nullable=False),
        sa.Column("ended", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["username"], ["auth_user.username"], name=op.f("fk_auth_session_username"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("session_hash", name=op.f("pk_auth_session")),
    )
    with op.batch_alter_table("auth_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_session_username"), ["username"], unique=False)

    op.create_table(
        "auth_launch",
        sa.Column("handle_hash", _HASH, nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("username", sa.String(length=128), nullable=True),
        sa.Column("context", sa.Text(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("expires", sa.BigInteger(), nullable=False),
        sa.Column("used", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["auth_client.client_id"], name=op.f("fk_auth_launch_client_id"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("handle_hash", name=op.f("pk_auth_launch")),
    )
    with op.batch_alter_table("auth_launch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_launch_expires"), ["expires"], unique=False)

    op.create_table(
        "auth_code",
        sa.Column("code_hash", _HASH, nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("redirect_uri", sa.String(length=1024), nullable=False),
        sa.Column("code_challenge", sa.String(length=128), nullable=False),
        sa.Column("username", sa.String(length=128), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("context", sa.Text(), nullable=False),
        sa.Column("session_hash", _HASH, nullable=True),
        sa.Column("nonce", sa.String(length=512), nullable=True),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("expires", sa.BigInteger(), nullable=False),
        sa.Column("used", sa.BigInteger(), nullable=True),
        sa.Column("family", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["auth_client.client_id"], name=op.f("fk_auth_code_client_id"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_auth_code")),
    )
    with op.batch_alter_table("auth_code", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_code_expires"), ["expires"], unique=False)

    op.create_table(
        "auth_refresh_token",
        sa.Column("token_hash", _HASH, nullable=False),
        sa.Column("family", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("username", sa.String(length=128), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("context", sa.Text(), nullable=False),
        sa.Column("session_hash", _HASH, nullable=True),
        sa.Column("offline", sa.Boolean(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("expires", sa.BigInteger(), nullable=False),
        sa.Column("used", sa.BigInteger(), nullable=True),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["auth_client.client_id"], name=op.f("fk_auth_refresh_token_client_id"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_auth_refresh_token")),
    )
    with op.batch_alter_table("auth_refresh_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_refresh_token_family"), ["family"], unique=False)
        batch_op.create_index(batch_op.f("ix_auth_refresh_token_session_hash"), ["session_hash"], unique=False)

    op.create_table(
        "auth_access_token",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("subject", sa.String(length=192), nullable=False),
        sa.Column("family", sa.String(length=64), nullable=True),
        sa.Column("session_hash", _HASH, nullable=True),
        sa.Column("issued", sa.BigInteger(), nullable=False),
        sa.Column("expires", sa.BigInteger(), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_auth_access_token")),
    )
    with op.batch_alter_table("auth_access_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_access_token_expires"), ["expires"], unique=False)
        batch_op.create_index(batch_op.f("ix_auth_access_token_family"), ["family"], unique=False)

    op.create_table(
        "auth_used_jti",
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("jti", sa.String(length=256), nullable=False),
        sa.Column("expires", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("client_id", "jti", name=op.f("pk_auth_used_jti")),
    )
    with op.batch_alter_table("auth_used_jti", schema=None) as batch_op:
        batch_op.create_index("ix_auth_used_jti_expires", ["expires"], unique=False)


def _downgrade_auth() -> None:
    for table in (
        "auth_used_jti",
        "auth_access_token",
        "auth_refresh_token",
        "auth_code",
        "auth_launch",
        "auth_session",
        "auth_user",
        "auth_client",
    ):
        op.drop_table(table)


# ---- audit trail (fhir_server/storage/audit_tables.py) -----------------------------------------------


_AUDIT_CONTENT_COLUMNS = (
    "pk, recorded, kind, type_code, subtype, action, outcome, client_id, subject, fhir_user, source_ip, content"
)


def _upgrade_audit() -> None:
    pk = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "audit_event",
        sa.Column("pk", pk, autoincrement=True, nullable=False),
        sa.Column("recorded", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("type_code", sa.String(length=16), nullable=False),
        sa.Column("subtype", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=1), nullable=False),
        sa.Column("outcome", sa.String(length=2), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=True),
        sa.Column("subject", sa.String(length=255), nullable=True),
        sa.Column("fhir_user", sa.String(length=255), nullable=True),
        sa.Column("source_ip", sa.String(length=64), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=True),
        sa.Column("hash", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_audit_event")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index("ix_audit_event_seq", ["seq"], unique=True)
        batch_op.create_index("ix_audit_event_recorded", ["recorded"], unique=False)
        batch_op.create_index("ix_audit_event_fhir_user", ["fhir_user"], unique=False)
        batch_op.create_index("ix_audit_event_subject", ["subject"], unique=False)
        batch_op.create_index("ix_audit_event_client_id", ["client_id"], unique=False)

    op.create_table(
        "audit_event_entity",
        sa.Column("event_pk", pk, nullable=False),
        sa.Column("reference", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(["event_pk"], ["audit_event.pk"], name=op.f("fk_audit_event_entity_event_pk")),
        sa.PrimaryKeyConstraint("event_pk", "reference", name=op.f("pk_audit_event_entity")),
    )
    with op.batch_alter_table("audit_event_entity", schema=None) as batch_op:
        batch_op.create_index("ix_audit_event_entity_reference", ["reference", "event_pk"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        _postgres_append_only()
    else:
        _sqlite_append_only()


def _postgres_append_only() -> None:
    """Refuse DELETE and TRUNCATE, and any UPDATE but sealing an unsealed row (setting its chain columns)."""
    op.execute(
        f"""
        CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP <> 'UPDATE' THEN
                RAISE EXCEPTION 'audit rows are append-only: % refused', TG_OP;
            END IF;
            IF OLD.seq IS NOT NULL OR ({_prefixed("NEW")}) IS DISTINCT FROM ({_prefixed("OLD")}) THEN
                RAISE EXCEPTION 'audit rows are append-only: only sealing an unsealed row may update it';
            END IF;
            RETURN NEW;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION audit_entity_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit rows are append-only: % refused', TG_OP;
        END
        $$
        """
    )
    for table, function in (
        ("audit_event", "audit_event_append_only"),
        ("audit_event_entity", "audit_entity_append_only"),
    ):
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )


def _sqlite_append_only() -> None:
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in _AUDIT_CONTENT_COLUMNS.split(", "))
    op.execute(
        "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
        "BEGIN SELECT RAISE(ABORT, 'audit rows are append-only: DELETE refused'); END"
    )
    op.execute(
        f"CREATE TRIGGER audit_event_seal_only BEFORE UPDATE ON audit_event WHEN OLD.seq IS NOT NULL OR {changed} "
        "BEGIN SELECT RAISE(ABORT, 'audit rows are append-only: only sealing an unsealed row may update it'); END"
    )
    for operation in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_event_entity_no_{operation.lower()} BEFORE {operation} ON audit_event_entity "
            f"BEGIN SELECT RAISE(ABORT, 'audit rows are append-only: {operation} refused'); END"
        )


def _prefixed(row: str) -> str:
    return ", ".join(f"{row}.{c}" for c in _AUDIT_CONTENT_COLUMNS.split(", "))


def _downgrade_audit() -> None:
    # Dropping the tables drops their triggers; the PostgreSQL trigger functions go separately.
    op.drop_table("audit_event_entity")
    op.drop_table("audit_event")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
        op.execute("DROP FUNCTION IF EXISTS audit_entity_append_only()")
