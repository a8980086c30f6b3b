"""Switch: participants, currencies, endpoints, transfers, the callback outbox, the built-in
party oracle and quotes.

Revision ID: switch_0001
Revises:
"""

from __future__ import annotations

from alembic import op

from baobab.switch.adapters import tables

revision = "switch_0001"
down_revision = None
branch_labels = ("switch",)
depends_on = None

_TABLES = (
    tables.participants,
    tables.currencies,
    tables.endpoints,
    tables.transfers,
    tables.outbox,
    tables.oracle,
    tables.quotes,
)


def upgrade() -> None:
    bind = op.get_bind()
    for table in _TABLES:
        table.create(bind)  # with its indexes


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(_TABLES):
        table.drop(bind)
