"""Directory: members, subsystems, public keys, access rights, used client assertions.

Revision ID: directory_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baobab.infra.database import UtcDateTime

revision = "directory_0001"
down_revision = None
branch_labels = ("directory",)
depends_on = "infra_0001"


def upgrade() -> None:
    op.create_table(
        "directory_members",
        sa.Column("member_id", sa.String(200), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("roles", sa.String(500), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "directory_subsystems",
        sa.Column("client_id", sa.String(265), primary_key=True),
        sa.Column(
            "member_id",
            sa.String(200),
            sa.ForeignKey("directory_members.member_id"),
            nullable=False,
            index=True,
        ),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "directory_keys",
        sa.Column("kid", sa.String(64), primary_key=True),
        sa.Column(
            "client_id",
            sa.String(265),
            sa.ForeignKey("directory_subsystems.client_id"),
            nullable=False,
            index=True,
        ),
        sa.Column("jwk", sa.Text, nullable=False),
        sa.Column("alg", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("not_after", UtcDateTime),
        sa.Column("revoked_at", UtcDateTime),
    )
    op.create_table(
        "directory_access_rights",
        sa.Column(
            "client_id",
            sa.String(265),
            sa.ForeignKey("directory_subsystems.client_id"),
            primary_key=True,
        ),
        sa.Column("provider", sa.String(265), primary_key=True),
        sa.Column("service_code", sa.String(100), primary_key=True),
        sa.Column("granted_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "directory_used_assertions",
        sa.Column("client_id", sa.String(265), primary_key=True),
        sa.Column("jti", sa.String(200), primary_key=True),
        sa.Column("expires_at", UtcDateTime, nullable=False, index=True),
    )
