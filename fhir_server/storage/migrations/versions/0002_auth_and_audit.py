"""SMART authorization server and audit trail tables

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 04:10:00
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

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


def _upgrade_auth() -> None:
    pass


def _downgrade_auth() -> None:
    pass


# ---- audit trail (fhir_server/storage/audit_tables.py) -----------------------------------------------


def _upgrade_audit() -> None:
    pass


def _downgrade_audit() -> None:
    pass
