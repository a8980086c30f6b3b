"""Exchange: registered services, the message log chain with its head, Merkle checkpoints;
pub/sub rooms, event types, events (the durable outbox) and subscriptions with their cursors.

Revision ID: exchange_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baobab.infra.database import UtcDateTime

revision = "exchange_0001"
down_revision = None
branch_labels = ("exchange",)
depends_on = "infra_0001"

_SEQUENCE = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "exchange_services",
        sa.Column("provider", sa.String(265), primary_key=True),
        sa.Column("service_code", sa.String(100), primary_key=True),
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("base_url", sa.String(2000), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("openapi", sa.Text),
        sa.Column("personal_data", sa.Boolean, nullable=False),
        sa.Column("agreement_id", sa.String(100)),
        sa.Column("purposes", sa.String(2000), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "exchange_log",
        sa.Column("sequence", _SEQUENCE, primary_key=True, autoincrement=False),
        sa.Column("message_id", sa.String(40), nullable=False, unique=True),
        sa.Column("client", sa.String(265), nullable=False),
        sa.Column("service", sa.String(370), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("previous_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "exchange_log_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("sequence", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "exchange_checkpoints",
        sa.Column("last", _SEQUENCE, primary_key=True, autoincrement=False),
        sa.Column("first", sa.BigInteger, nullable=False),
        sa.Column("root", sa.String(64), nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("jws", sa.Text, nullable=False),
    )

    op.create_table(
        "exchange_rooms",
        sa.Column("owner", sa.String(265), primary_key=True),
        sa.Column("room", sa.String(100), primary_key=True),
        sa.Column("ttl_seconds", sa.Integer, nullable=False),
        sa.Column("last_sequence", sa.BigInteger, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "exchange_event_types",
        sa.Column("owner", sa.String(265), primary_key=True),
        sa.Column("room", sa.String(100), primary_key=True),
        sa.Column("event_type", sa.String(100), primary_key=True),
        sa.Column("schema", sa.Text, nullable=False),
    )
    op.create_table(
        "exchange_events",
        sa.Column("owner", sa.String(265), primary_key=True),
        sa.Column("room", sa.String(100), primary_key=True),
        sa.Column("sequence", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.String(100), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("publisher", sa.String(265), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("published_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False, index=True),
        sa.UniqueConstraint("owner", "room", "event_id", name="uq_exchange_events_id"),
    )
    op.create_table(
        "exchange_subscriptions",
        sa.Column("subscription_id", sa.String(40), primary_key=True),
        sa.Column("owner", sa.String(265), nullable=False),
        sa.Column("room", sa.String(100), nullable=False),
        sa.Column("subscriber", sa.String(265), nullable=False, index=True),
        sa.Column("endpoint", sa.String(2000)),
        sa.Column("event_types", sa.String(2000), nullable=False),
        sa.Column("cursor", sa.BigInteger, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UtcDateTime, nullable=False, index=True),
        sa.Column("last_error", sa.String(500)),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("exchange_subscriptions")
    op.drop_table("exchange_events")
    op.drop_table("exchange_event_types")
    op.drop_table("exchange_rooms")
    op.drop_table("exchange_checkpoints")
    op.drop_table("exchange_log_head")
    op.drop_table("exchange_log")
    op.drop_table("exchange_services")
