"""Registries: the log of personal-data reads becomes a hash chain per registry, like the
revisions (sequence, previous hash, hash, and a head per registry). Disclosures logged before
are chained in the order of their ids (UUIDv7: the order they were logged in).

Revision ID: registries_0002
Revises: registries_0001
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from baobab.infra.database import UtcDateTime
from baobab.kernel.hashchain import GENESIS, link_hash

revision = "registries_0002"
down_revision = "registries_0001"
branch_labels = None
depends_on = None

_BIG = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def _payload(code: str, sequence: int, row: Any) -> dict[str, Any]:
    # the formula of baobab.registries.disclosure_chain as of this revision
    at: datetime = row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)
    return {
        "registry": code,
        "sequence": sequence,
        "id": row.id,
        "record_id": row.record_id,
        "actor": row.actor,
        "at": at.astimezone(UTC).isoformat(),
        "operation": row.operation,
        "fields": [f for f in row.fields.split(",") if f],
    }


def upgrade() -> None:
    op.create_table(
        "registries_disclosure_heads",
        sa.Column("registry_id", sa.Integer, primary_key=True),
        sa.Column("sequence", _BIG, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    with op.batch_alter_table("registries_disclosures") as batch:
        batch.add_column(sa.Column("sequence", _BIG, nullable=True))
        batch.add_column(sa.Column("previous_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(64), nullable=True))
    connection = op.get_bind()
    entries = sa.table(
        "registries_disclosures",
        sa.column("id", sa.String),
        sa.column("registry_id", sa.Integer),
        sa.column("record_id", sa.String),
        sa.column("actor", sa.String),
        sa.column("at", UtcDateTime),
        sa.column("operation", sa.String),
        sa.column("fields", sa.String),
        sa.column("sequence", _BIG),
        sa.column("previous_hash", sa.String),
        sa.column("hash", sa.String),
    )
    heads = sa.table(
        "registries_disclosure_heads",
        sa.column("registry_id", sa.Integer),
        sa.column("sequence", _BIG),
        sa.column("hash", sa.String),
    )
    registries = connection.execute(sa.text("SELECT id, code FROM registries_registries")).all()
    for registry_id, code in registries:
        sequence, previous = 0, GENESIS
        rows = connection.execute(
            sa.select(entries).where(entries.c.registry_id == registry_id).order_by(entries.c.id)
        ).all()
        for row in rows:
            sequence += 1
            digest = link_hash(previous, _payload(code, sequence, row))
            connection.execute(
                sa.update(entries)
                .where(entries.c.id == row.id)
                .values(sequence=sequence, previous_hash=previous, hash=digest)
            )
            previous = digest
        connection.execute(
            sa.insert(heads).values(registry_id=registry_id, sequence=sequence, hash=previous)
        )
    with op.batch_alter_table("registries_disclosures") as batch:
        batch.alter_column("sequence", existing_type=_BIG, nullable=False)
        batch.alter_column("previous_hash", existing_type=sa.String(64), nullable=False)
        batch.alter_column("hash", existing_type=sa.String(64), nullable=False)
    op.create_index(
        "ix_registries_disclosures_chain",
        "registries_disclosures",
        ["registry_id", "sequence"],
        unique=True,
    )
