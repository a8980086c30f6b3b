"""Identity: packets, identities and their history, review cases, VIDs, OTP challenges, partner
policies, the development outbox.

Revision ID: identity_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baobab.infra.database import UtcDateTime

revision = "identity_0001"
down_revision = None
branch_labels = ("identity",)
depends_on = "infra_0001"


def upgrade() -> None:
    op.create_table(
        "identity_packets",
        sa.Column("packet_id", sa.String(100), primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("enrolled_by", sa.String(265), nullable=False),
        sa.Column("state", sa.String(20), nullable=False, index=True),
        sa.Column("transitions", sa.Text, nullable=False),
        sa.Column("uin", sa.String(32)),
        sa.Column("duplicate_of", sa.String(32)),
        sa.Column("case_id", sa.String(36)),
        sa.Column("reason", sa.String(500)),
        sa.Column("demographics", sa.LargeBinary, nullable=False),
        sa.Column("received_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "identity_identities",
        sa.Column("uin", sa.String(32), primary_key=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("profile", sa.String(100), nullable=False),
        sa.Column("packet_id", sa.String(100), nullable=False),
        sa.Column("attributes", sa.LargeBinary, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "identity_history",
        sa.Column("uin", sa.String(32), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("packet_id", sa.String(100), nullable=False),
        sa.Column("attributes", sa.LargeBinary, nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "identity_review_cases",
        sa.Column("case_id", sa.String(36), primary_key=True),
        sa.Column("packet_id", sa.String(100), nullable=False, unique=True),
        sa.Column("candidates", sa.Text, nullable=False),
        sa.Column("opened_at", UtcDateTime, nullable=False),
        sa.Column("is_open", sa.Boolean, nullable=False, index=True),
        sa.Column("decision", sa.String(20)),
        sa.Column("duplicate_of", sa.String(32)),
        sa.Column("reason", sa.String(500)),
        sa.Column("decided_by", sa.String(300)),
        sa.Column("decided_at", UtcDateTime),
    )
    op.create_table(
        "identity_vids",
        sa.Column("vid", sa.String(32), primary_key=True),
        sa.Column("uin", sa.String(32), nullable=False, index=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime),
        sa.Column("revoked_at", UtcDateTime),
        sa.Column("used_at", UtcDateTime),
    )
    op.create_table(
        "identity_otp_challenges",
        sa.Column("otp_id", sa.String(36), primary_key=True),
        sa.Column("uin", sa.String(32), nullable=False, index=True),
        sa.Column("partner", sa.String(265), nullable=False, index=True),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False, index=True),
        sa.Column("expires_at", UtcDateTime, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("used_at", UtcDateTime),
    )
    op.create_table(
        "identity_partner_policies",
        sa.Column("partner", sa.String(200), primary_key=True),
        sa.Column("attributes", sa.Text, nullable=False),
    )
    op.create_table(
        "identity_dev_outbox",
        sa.Column("message_id", sa.String(36), primary_key=True),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False, index=True),
    )
