"""Exchange: access groups and per-endpoint access rights, encrypted message bodies, RFC 3161
time-stamp tokens of checkpoints.

Revision ID: exchange_0002
Revises: exchange_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baobab.infra.database import UtcDateTime

revision = "exchange_0002"
down_revision = "exchange_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exchange_groups",
        sa.Column("code", sa.String(100), primary_key=True),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "exchange_group_members",
        sa.Column(
            "group_code",
            sa.String(100),
            sa.ForeignKey("exchange_groups.code", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("client", sa.String(265), primary_key=True),
    )
    op.create_table(
        "exchange_rights",
        sa.Column("right_id", sa.String(40), primary_key=True),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("provider", sa.String(265), nullable=False),
        sa.Column("service_code", sa.String(100), nullable=False),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("path", sa.String(1000), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.UniqueConstraint(
            "subject", "provider", "service_code", "method", "path", name="uq_exchange_rights"
        ),
    )
    op.create_table(
        "exchange_bodies",
        sa.Column("message_id", sa.String(40), primary_key=True),
        sa.Column("part", sa.String(10), primary_key=True),
        sa.Column("key_id", sa.String(100), nullable=False),
        sa.Column("nonce", sa.LargeBinary, nullable=False),
        sa.Column("ciphertext", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "exchange_checkpoint_stamps",
        sa.Column("last", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("token", sa.Text, nullable=False),
        sa.Column("stamped_at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("exchange_checkpoint_stamps")
    op.drop_table("exchange_bodies")
    op.drop_table("exchange_rights")
    op.drop_table("exchange_group_members")
    op.drop_table("exchange_groups")
