"""Ledger: accounts, the append-only transfer history, the pending-timeout work list.

Revision ID: ledger_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baobab.infra.database import UtcDateTime

revision = "ledger_0001"
down_revision = None
branch_labels = ("ledger",)
depends_on = None

_OK = sa.text("result = 'ok'")
_SETTLES = sa.text("result = 'ok' AND pending_id IS NOT NULL")


def _id(length: int) -> sa.String:
    # Ids are compared byte for byte: the "C" collation spares PostgreSQL locale-aware compares
    # on the hottest indexes. SQLite compares bytes already.
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "ledger_accounts",
        sa.Column("id", _id(64), primary_key=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("flags", sa.Integer, nullable=False),
        sa.Column("debits_pending", sa.BigInteger, nullable=False),
        sa.Column("debits_posted", sa.BigInteger, nullable=False),
        sa.Column("credits_pending", sa.BigInteger, nullable=False),
        sa.Column("credits_posted", sa.BigInteger, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.CheckConstraint(
            "debits_pending >= 0 AND debits_posted >= 0 AND credits_pending >= 0"
            " AND credits_posted >= 0",
            name="ledger_accounts_totals_not_negative",
        ),
        # Room on every page so that updating totals (no indexed column) stays a HOT update.
        postgresql_with={"fillfactor": 70},
    )
    # SQLite numbers rows only through an INTEGER PRIMARY KEY; PostgreSQL keys transfers by id
    # and spares the sequence an index of its own (the history indexes carry it).
    op.create_table(
        "ledger_transfers",
        sa.Column(
            "sequence",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            sa.Identity(),
            primary_key=not postgres,
            nullable=False,
        ),
        sa.Column("id", _id(80), nullable=False, primary_key=postgres, unique=not postgres),
        sa.Column("debit_account_id", _id(64)),
        sa.Column("credit_account_id", _id(64)),
        sa.Column("amount", sa.BigInteger),
        sa.Column("currency", sa.String(3)),
        sa.Column("pending_id", _id(64)),
        sa.Column("timeout", sa.Integer, nullable=False),
        sa.Column("reference", sa.String(256), nullable=False),
        sa.Column("flags", sa.Integer, nullable=False),
        sa.Column("result", sa.String(64), nullable=False),
        sa.Column("timestamp", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime),
    )
    op.create_index(
        "ledger_transfers_debit_history",
        "ledger_transfers",
        ["debit_account_id", "sequence"],
        postgresql_where=_OK,
        sqlite_where=_OK,
    )
    op.create_index(
        "ledger_transfers_credit_history",
        "ledger_transfers",
        ["credit_account_id", "sequence"],
        postgresql_where=_OK,
        sqlite_where=_OK,
    )
    op.create_index(
        "ledger_transfers_settles_once",
        "ledger_transfers",
        ["pending_id"],
        unique=True,
        postgresql_where=_SETTLES,
        sqlite_where=_SETTLES,
    )
    # History is append-only, and the database says so too: a transfer row can be neither
    # changed nor deleted, whoever holds the credentials. (Inserts are untouched, so this costs
    # nothing on the hot path.)
    if postgres:
        op.execute(
            "CREATE FUNCTION ledger_history_is_immutable() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN RAISE EXCEPTION 'ledger history is immutable'; END $$"
        )
        op.execute(
            "CREATE TRIGGER ledger_transfers_immutable BEFORE UPDATE OR DELETE"
            " ON ledger_transfers FOR EACH ROW EXECUTE FUNCTION ledger_history_is_immutable()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER ledger_transfers_no_{verb.lower()} BEFORE {verb}"
                " ON ledger_transfers BEGIN SELECT RAISE(ABORT, 'ledger history is immutable');"
                " END"
            )
    op.create_table(
        "ledger_pending_timeouts",
        sa.Column("transfer_id", _id(80), primary_key=True),
        sa.Column("expires_at", UtcDateTime, nullable=False),
    )
    op.create_index(
        "ix_ledger_pending_timeouts_expires_at", "ledger_pending_timeouts", ["expires_at"]
    )


def downgrade() -> None:
    op.drop_table("ledger_pending_timeouts")
    op.drop_table("ledger_transfers")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION ledger_history_is_immutable()")
    op.drop_table("ledger_accounts")
