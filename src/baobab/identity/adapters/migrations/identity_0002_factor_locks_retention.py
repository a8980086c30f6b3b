"""Identity: authentication factors a person has locked; a packet's biometric references (for
the ABIS when an officer issues it later); when a packet's personal data was purged at the end
of its retention period.

Revision ID: identity_0002
Revises: identity_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baobab.infra.database import UtcDateTime

revision = "identity_0002"
down_revision = "identity_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("identity_identities") as table:
        table.add_column(
            sa.Column("locked_factors", sa.String(100), nullable=False, server_default="")
        )
    with op.batch_alter_table("identity_packets") as table:
        table.add_column(sa.Column("purged_at", UtcDateTime))
        table.add_column(sa.Column("biometrics", sa.Text, nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("identity_packets") as table:
        table.drop_column("biometrics")
        table.drop_column("purged_at")
    with op.batch_alter_table("identity_identities") as table:
        table.drop_column("locked_factors")
