"""Exchange: delivery leases on push subscriptions, so that several gateway replicas may run
push delivery and never deliver one subscription's events at the same time.

Revision ID: exchange_0003
Revises: exchange_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baobab.infra.database import UtcDateTime

revision = "exchange_0003"
down_revision = "exchange_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exchange_subscriptions") as table:
        table.add_column(sa.Column("lease_owner", sa.String(40)))
        table.add_column(sa.Column("lease_until", UtcDateTime))


def downgrade() -> None:
    with op.batch_alter_table("exchange_subscriptions") as table:
        table.drop_column("lease_until")
        table.drop_column("lease_owner")
