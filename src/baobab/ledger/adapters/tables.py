"""The ledger's tables (SQLAlchemy Core metadata); the migration creates the same schema."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    text,
)

from baobab.infra.database import UtcDateTime

metadata = MetaData()

_BIGINT = BigInteger().with_variant(Integer, "sqlite")


def _id(length: int) -> String:
    # Byte-wise compares on PostgreSQL, as the migration declares (see there).
    return String(length).with_variant(String(length, collation="C"), "postgresql")


accounts = Table(
    "ledger_accounts",
    metadata,
    Column("id", _id(64), primary_key=True),
    Column("currency", String(3), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("owner", String(128), nullable=False),
    Column("flags", Integer, nullable=False),
    Column("debits_pending", BigInteger, nullable=False),
    Column("debits_posted", BigInteger, nullable=False),
    Column("credits_pending", BigInteger, nullable=False),
    Column("credits_posted", BigInteger, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint(
        "debits_pending >= 0 AND debits_posted >= 0 AND credits_pending >= 0"
        " AND credits_posted >= 0",
        name="ledger_accounts_totals_not_negative",
    ),
    postgresql_with={"fillfactor": 70},
)

transfers = Table(
    "ledger_transfers",
    metadata,
    # The order of history; ids are the client's and say nothing about order. The migration
    # keys the table by ``sequence`` on SQLite and by ``id`` on PostgreSQL.
    Column("sequence", _BIGINT, Identity(), primary_key=True),
    Column("id", _id(80), nullable=False, unique=True),
    Column("debit_account_id", _id(64)),
    Column("credit_account_id", _id(64)),
    Column("amount", BigInteger),
    Column("currency", String(3)),
    Column("pending_id", _id(64)),
    Column("timeout", Integer, nullable=False),
    Column("reference", String(256), nullable=False),
    Column("flags", Integer, nullable=False),
    Column("result", String(64), nullable=False),
    Column("timestamp", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime),
    Index(
        "ledger_transfers_debit_history",
        "debit_account_id",
        "sequence",
        postgresql_where=text("result = 'ok'"),
        sqlite_where=text("result = 'ok'"),
    ),
    Index(
        "ledger_transfers_credit_history",
        "credit_account_id",
        "sequence",
        postgresql_where=text("result = 'ok'"),
        sqlite_where=text("result = 'ok'"),
    ),
    # At most one post, void or expiry per pending transfer, whatever the application does.
    Index(
        "ledger_transfers_settles_once",
        "pending_id",
        unique=True,
        postgresql_where=text("result = 'ok' AND pending_id IS NOT NULL"),
        sqlite_where=text("result = 'ok' AND pending_id IS NOT NULL"),
    ),
)

# Pending transfers with a timeout that are not yet settled: the sweeper's work list. Rows leave
# when the transfer is posted, voided or expired; the transfers themselves are never touched.
pending_timeouts = Table(
    "ledger_pending_timeouts",
    metadata,
    Column("transfer_id", _id(80), primary_key=True),
    Column("expires_at", UtcDateTime, nullable=False, index=True),
)
