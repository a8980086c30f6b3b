"""The audit log: an append-only, SHA-256 hash-chained table of security-relevant events.

Appending takes the chain head's row lock, so concurrent writers line up and the chain has exactly
one order; the lock is held only until the writer's transaction ends. :func:`verify_audit`
re-computes every hash and names the first entry that was changed, removed or reordered; the head
row also catches entries cut from the end.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    insert,
    select,
    update,
)

from baobab.infra.database import Database
from baobab.kernel.audit import AuditEvent
from baobab.kernel.hashchain import GENESIS, ChainBreak, Link, link_hash, verify_chain

metadata = MetaData()

audit_log = Table(
    "audit_log",
    metadata,
    Column(
        "sequence",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("at", String(40), nullable=False),
    Column("action", String(100), nullable=False),
    Column("actor", String(300), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("details", Text, nullable=False),
    Column("previous_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("sequence", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)


# Built once: constructing a statement costs more than running it (about half of a small
# batch's CPU), and a prebuilt statement also keeps its compiled form's cache key.
_ADVANCE_HEAD = (
    update(audit_head)
    .where(audit_head.c.id == 1)
    .values(sequence=audit_head.c.sequence + bindparam("count"))
    .returning(audit_head.c.sequence, audit_head.c.hash)
)
_INSERT_ENTRIES = insert(audit_log)
_SET_HEAD_HASH = update(audit_head).where(audit_head.c.id == 1).values(hash=bindparam("head"))


def _payload(sequence: int, at: str, event: AuditEvent) -> dict[str, Any]:
    return {
        "sequence": sequence,
        "at": at,
        "action": event.action,
        "actor": event.actor,
        "subject": event.subject,
        "outcome": event.outcome,
        "details": dict(event.details),
    }


class SqlAuditTrail:
    """Appends to the audit chain inside the caller's transaction (``connection``)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def append(self, event: AuditEvent, *, at: datetime) -> None:
        self.append_many([(event, at)])

    def append_many(self, events: Sequence[tuple[AuditEvent, datetime]]) -> None:
        """Append ``events`` in order in three statements, whatever their number: the head row
        is advanced once (its row lock orders concurrent writers), the hashes are chained here
        and the entries go in as one multi-row insert."""
        if not events:
            return
        head = self._connection.execute(_ADVANCE_HEAD, {"count": len(events)}).one()
        sequence, previous = head.sequence - len(events), head.hash
        rows = []
        for event, at in events:
            sequence += 1
            at_text = at.isoformat()
            digest = link_hash(previous, _payload(sequence, at_text, event))
            rows.append(
                {
                    "sequence": sequence,
                    "at": at_text,
                    "action": event.action,
                    "actor": event.actor,
                    "subject": event.subject,
                    "outcome": event.outcome,
                    "details": json.dumps(dict(event.details), sort_keys=True),
                    "previous_hash": previous,
                    "hash": digest,
                }
            )
            previous = digest
        self._connection.execute(_INSERT_ENTRIES, rows)
        self._connection.execute(_SET_HEAD_HASH, {"head": previous})


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One stored audit entry as read back."""

    sequence: int
    at: str
    action: str
    actor: str
    subject: str
    outcome: str
    details: dict[str, str]
    hash: str


def _links(connection: Connection) -> Iterator[Link]:
    rows = connection.execute(select(audit_log).order_by(audit_log.c.sequence)).yield_per(5000)
    for row in rows:
        event = AuditEvent(row.action, row.actor, row.subject, row.outcome, json.loads(row.details))
        yield Link(row.sequence, row.previous_hash, _payload(row.sequence, row.at, event), row.hash)


def verify_audit(db: Database) -> tuple[int, ChainBreak | None]:
    """Re-compute the chain. Returns the number of entries and the first break, if any."""
    with db.transaction() as connection:
        head = connection.execute(select(audit_head).where(audit_head.c.id == 1)).one()
        count = 0
        last_hash = GENESIS

        def counted() -> Iterator[Link]:
            nonlocal count, last_hash
            for link in _links(connection):
                count += 1
                last_hash = link.hash
                yield link

        broken = verify_chain(counted())
        if broken is not None:
            return count, broken
        if count != head.sequence or last_hash != head.hash:
            return count, ChainBreak(count + 1, f"entries after {count} were removed")
        return count, None


def read_audit(db: Database, *, after: int = 0, limit: int = 100) -> list[AuditEntry]:
    """Entries with a sequence above ``after``, oldest first."""
    with db.transaction() as connection:
        rows = connection.execute(
            select(audit_log)
            .where(audit_log.c.sequence > after)
            .order_by(audit_log.c.sequence)
            .limit(limit)
        )
        return [
            AuditEntry(
                r.sequence,
                r.at,
                r.action,
                r.actor,
                r.subject,
                r.outcome,
                json.loads(r.details),
                r.hash,
            )
            for r in rows
        ]
