"""The switch's tables (SQLAlchemy Core), shared by the store and the migration's checks."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

from baobab.infra.database import UtcDateTime

metadata = MetaData()

participants = Table(
    "switch_participants",
    metadata,
    Column("fsp_id", String(32), primary_key=True),
    Column("member", String(200), nullable=False, unique=True),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

currencies = Table(
    "switch_participant_currencies",
    metadata,
    Column("fsp_id", String(32), primary_key=True),
    Column("currency", String(3), primary_key=True),
)

endpoints = Table(
    "switch_endpoints",
    metadata,
    Column("fsp_id", String(32), primary_key=True),
    Column("type", String(64), primary_key=True),
    Column("value", String(512), nullable=False),
)

transfers = Table(
    "switch_transfers",
    metadata,
    Column("transfer_id", String(36), primary_key=True),
    Column("payer", String(32), nullable=False),
    Column("payee", String(32), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("condition", String(43), nullable=False),
    Column("expiration", UtcDateTime, nullable=False),
    Column("state", String(10), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("fulfilment", String(43)),
    Column("completed_at", UtcDateTime),
    Column("error_code", String(4)),
    Column("payee_wants_patch", Boolean, nullable=False),
    Index(
        "switch_transfers_open", "expiration", postgresql_where="state IN ('RECEIVED', 'RESERVED')"
    ),
)

outbox = Table(
    "switch_outbox",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("fsp_id", String(32), nullable=False),
    Column("method", String(8), nullable=False),
    Column("url", String(1024), nullable=False),
    Column("headers", Text, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("failed", Boolean, nullable=False),
    Column("last_error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Index("switch_outbox_due", "failed", "due_at"),
)

oracle = Table(
    "switch_oracle",
    metadata,
    Column("party_type", String(32), primary_key=True),
    Column("party_id", String(128), primary_key=True),
    Column("sub_id", String(128), primary_key=True),
    Column("fsp_id", String(32), nullable=False),
    Column("currency", String(3)),
    Column("created_at", UtcDateTime, nullable=False),
)

quotes = Table(
    "switch_quotes",
    metadata,
    Column("quote_id", String(36), primary_key=True),
    Column("payer", String(32), nullable=False),
    Column("payee", String(32), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("state", String(10), nullable=False),
    Column("expiration", UtcDateTime),
    Column("response", LargeBinary),
    Column("response_headers", Text),
    Column("created_at", UtcDateTime, nullable=False),
)

windows = Table(
    "switch_settlement_windows",
    metadata,
    Column(
        "window_id",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("state", String(20), nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime),
    Column("settled_at", UtcDateTime),
)

settlement_positions = Table(
    "switch_settlement_positions",
    metadata,
    Column("window_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("fsp_id", String(32), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("sent", BigInteger, nullable=False),
    Column("received", BigInteger, nullable=False),
    Column("transfers", Integer, nullable=False),
)
# switch_0002 also indexes switch_transfers.completed_at, for the settlement window queries.

bulk_transfers = Table(
    "switch_bulk_transfers",
    metadata,
    Column("bulk_id", String(36), primary_key=True),
    Column("payer", String(32), nullable=False),
    Column("payee", String(32), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("state", String(10), nullable=False),
    Column("expiration", UtcDateTime, nullable=False),
    Column("items", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("completed_at", UtcDateTime),
    Column("result", LargeBinary),
    Index("switch_bulk_open", "expiration", postgresql_where="state = 'ACCEPTED'"),
)
