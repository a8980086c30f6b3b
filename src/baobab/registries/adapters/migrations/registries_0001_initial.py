"""Registries: definitions and versions, records, hash-chained revisions, the index of searchable
and unique fields, per-registry rights and the log of personal-data reads.

Revision ID: registries_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baobab.infra.database import UtcDateTime

revision = "registries_0001"
down_revision = None
branch_labels = ("registries",)
depends_on = "infra_0001"

_BIG = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "registries_registries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(63), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("head_sequence", _BIG, nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("definition_hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "registries_versions",
        sa.Column(
            "registry_id",
            sa.Integer,
            sa.ForeignKey("registries_registries.id"),
            primary_key=True,
        ),
        sa.Column("version", sa.String(20), primary_key=True),
        sa.Column("ordinal", sa.Integer, nullable=False),
        sa.Column("schema", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("created_by", sa.String(300), nullable=False),
    )
    op.create_table(
        "registries_records",
        sa.Column("registry_id", sa.Integer, primary_key=True),
        sa.Column("record_id", sa.String(256), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("schema_version", sa.String(20), nullable=False),
        sa.Column("revision_seq", _BIG, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "registries_revisions",
        sa.Column("registry_id", sa.Integer, primary_key=True),
        sa.Column("sequence", _BIG, primary_key=True, autoincrement=False),
        sa.Column("record_id", sa.String(256), nullable=False),
        sa.Column("record_version", sa.Integer, nullable=False),
        sa.Column("operation", sa.String(10), nullable=False),
        sa.Column("schema_version", sa.String(20), nullable=False),
        sa.Column("data", sa.Text),
        sa.Column("actor", sa.String(300), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("previous_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index(
        "ix_registries_revisions_record",
        "registries_revisions",
        ["registry_id", "record_id", "sequence"],
    )
    op.create_table(
        "registries_index",
        sa.Column("registry_id", sa.Integer, primary_key=True),
        sa.Column("record_id", sa.String(256), primary_key=True),
        sa.Column("field", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(256), nullable=False),
    )
    op.create_index(
        "ix_registries_index_value",
        "registries_index",
        ["registry_id", "field", "value", "record_id"],
    )
    op.create_table(
        "registries_unique",
        sa.Column("registry_id", sa.Integer, primary_key=True),
        sa.Column("field", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(256), primary_key=True),
        sa.Column("record_id", sa.String(256), nullable=False),
    )
    op.create_table(
        "registries_rights",
        sa.Column("registry_id", sa.Integer, primary_key=True),
        sa.Column("client_id", sa.String(265), primary_key=True),
        sa.Column("operation", sa.String(20), primary_key=True),
        sa.Column("granted_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "registries_disclosures",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("registry_id", sa.Integer, nullable=False),
        sa.Column("record_id", sa.String(256), nullable=False),
        sa.Column("actor", sa.String(300), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("operation", sa.String(20), nullable=False),
        sa.Column("fields", sa.String(2000), nullable=False),
    )
    op.create_index(
        "ix_registries_disclosures_record",
        "registries_disclosures",
        ["registry_id", "record_id", "id"],
    )
