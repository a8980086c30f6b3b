"""Switch: settlement windows and the net positions frozen for settlement.

Revision ID: switch_0002
Revises: switch_0001
"""

from __future__ import annotations

from alembic import op

from baobab.switch.adapters import tables

revision = "switch_0002"
down_revision = "switch_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    tables.windows.create(bind)
    tables.settlement_positions.create(bind)
    op.create_index("switch_transfers_completed", "switch_transfers", ["completed_at"])


def downgrade() -> None:
    op.drop_index("switch_transfers_completed", "switch_transfers")
    tables.settlement_positions.drop(bind=op.get_bind())
    tables.windows.drop(bind=op.get_bind())
