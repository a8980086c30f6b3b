"""Switch: bulk transfers.

Revision ID: switch_0003
Revises: switch_0002
"""

from __future__ import annotations

from alembic import op

from baobab.switch.adapters import tables

revision = "switch_0003"
down_revision = "switch_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    tables.bulk_transfers.create(op.get_bind())


def downgrade() -> None:
    tables.bulk_transfers.drop(op.get_bind())
