"""Consent: individuals, data agreements and their revisions, consent records (current state)
and their revisions.

Revision ID: consent_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baobab.infra.database import UtcDateTime

revision = "consent_0001"
down_revision = None
branch_labels = ("consent",)
depends_on = "infra_0001"


def upgrade() -> None:
    op.create_table(
        "consent_individuals",
        sa.Column("token", sa.String(128), primary_key=True),
        sa.Column("organisation", sa.String(200), nullable=False, index=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "consent_agreements",
        sa.Column("agreement_id", sa.String(36), primary_key=True),
        sa.Column("organisation", sa.String(200), nullable=False, index=True),
        sa.Column("current_revision", sa.Integer, nullable=False),
    )
    op.create_table(
        "consent_agreement_revisions",
        sa.Column(
            "agreement_id",
            sa.String(36),
            sa.ForeignKey("consent_agreements.agreement_id"),
            primary_key=True,
        ),
        sa.Column("revision", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("terms", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("actor", sa.String(300), nullable=False),
        sa.Column("previous_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "consent_records",
        sa.Column(
            "agreement_id",
            sa.String(36),
            sa.ForeignKey("consent_agreements.agreement_id"),
            primary_key=True,
        ),
        sa.Column("individual", sa.String(128), primary_key=True),
        sa.Column("record_id", sa.String(36), nullable=False, unique=True),
        sa.Column("organisation", sa.String(200), nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("opt_in", sa.Boolean, nullable=False),
        sa.Column("agreement_revision", sa.Integer, nullable=False),
        sa.Column("expires_at", UtcDateTime),
    )
    op.create_index(
        "ix_consent_records_individual", "consent_records", ["organisation", "individual"]
    )
    op.create_index(
        "ix_consent_records_organisation", "consent_records", ["organisation", "record_id"]
    )
    op.create_table(
        "consent_record_revisions",
        sa.Column("record_id", sa.String(36), primary_key=True),
        sa.Column("sequence", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("agreement_id", sa.String(36), nullable=False),
        sa.Column("individual", sa.String(128), nullable=False),
        sa.Column("organisation", sa.String(200), nullable=False),
        sa.Column("agreement_revision", sa.Integer, nullable=False),
        sa.Column("agreement_revision_hash", sa.String(64), nullable=False),
        sa.Column("opt_in", sa.Boolean, nullable=False),
        sa.Column("given_at", UtcDateTime),
        sa.Column("withdrawn_at", UtcDateTime),
        sa.Column("expires_at", UtcDateTime),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("actor", sa.String(300), nullable=False),
        sa.Column("previous_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("signature", sa.Text, nullable=False),
    )
