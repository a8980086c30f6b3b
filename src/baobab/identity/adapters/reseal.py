"""Re-encryption after a key rotation: every sealed value under an old key, sealed again under
the active one.

Rotation is: add a key to the keystore and make it active (``baobab identity keys rotate``),
restart the processes so they all know it, run :func:`reseal` (``baobab identity reseal``), and
once it reports nothing left under old keys, remove the old key from the keystore. After that
a copy of the old key opens nothing in the database.

The work goes table by table in primary-key order, ``batch`` rows per transaction, so a run
that stops (or is stopped with ``max_rows``) keeps what it did, and the next run passes over
what is already under the active key and carries on. A row changed by the application between
the read and the write is left as it is: the application seals with the active key anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Table, and_, select, tuple_, update

from baobab.identity.adapters.crypto import FieldCipher, add_key
from baobab.identity.adapters.tables import history, identities, packets
from baobab.infra.audit import SqlAuditTrail
from baobab.infra.database import Database
from baobab.kernel.audit import AuditEvent
from baobab.kernel.clock import Clock


@dataclass(frozen=True, slots=True)
class _Sealed:
    table: Table
    keys: tuple[Column[Any], ...]
    value: Column[Any]
    context: Callable[[Any], str]  # the row's associated data


_SEALED = (
    _Sealed(identities, (identities.c.uin,), identities.c.attributes, lambda r: f"identity:{r[0]}"),
    _Sealed(
        history,
        (history.c.uin, history.c.version),
        history.c.attributes,
        lambda r: f"history:{r[0]}:{r[1]}",
    ),
    _Sealed(packets, (packets.c.packet_id,), packets.c.demographics, lambda r: f"packet:{r[0]}"),
)


@dataclass
class ResealReport:
    """Per table: rows looked at, and rows sealed again under the active key."""

    key: str
    examined: dict[str, int] = field(default_factory=dict)
    resealed: dict[str, int] = field(default_factory=dict)

    @property
    def total_resealed(self) -> int:
        return sum(self.resealed.values())


def rotate_key(db: Database, keystore: Path, *, clock: Clock, actor: str) -> str:
    """Add a new active key to the keystore file; audited. Returns its id. Processes that
    have the keystore open learn of the key when they restart."""
    kid = add_key(keystore)
    with db.transaction() as connection:
        SqlAuditTrail(connection).append(
            AuditEvent("identity.key_rotated", actor, kid), at=clock.now()
        )
    return kid


def reseal(
    db: Database,
    cipher: FieldCipher,
    *,
    clock: Clock,
    actor: str,
    batch: int = 500,
    max_rows: int | None = None,
) -> ResealReport:
    """Seal again, under ``cipher.active``, every value sealed under another key; audited."""
    report = ResealReport(cipher.active)
    budget = max_rows
    for sealed in _SEALED:
        name = sealed.table.name
        report.examined[name] = report.resealed[name] = 0
        after: tuple[Any, ...] | None = None
        while budget is None or budget > 0:
            size = batch if budget is None else min(batch, budget)
            with db.transaction() as connection:
                query = select(*sealed.keys, sealed.value).order_by(*sealed.keys).limit(size)
                if after is not None:
                    query = query.where(tuple_(*sealed.keys) > tuple_(*after))
                rows = connection.execute(query).all()
                for row in rows:
                    if _reseal_row(connection, cipher, sealed, tuple(row)):
                        report.resealed[name] += 1
            if not rows:
                break
            report.examined[name] += len(rows)
            after = tuple(rows[-1])[: len(sealed.keys)]
            if budget is not None:
                budget -= len(rows)
    with db.transaction() as connection:
        details = {f"resealed_{t}": str(n) for t, n in report.resealed.items()}
        SqlAuditTrail(connection).append(
            AuditEvent("identity.resealed", actor, report.key, details=details), at=clock.now()
        )
    return report


def _reseal_row(
    connection: Any, cipher: FieldCipher, sealed: _Sealed, row: tuple[Any, ...]
) -> bool:
    keys, value = row[: len(sealed.keys)], bytes(row[-1])
    if not value or cipher.key_id(value) == cipher.active:  # purged, or done already
        return False
    context = sealed.context(keys).encode()
    fresh = cipher.seal(cipher.open(value, context=context), context=context)
    where = and_(*(column == key for column, key in zip(sealed.keys, keys, strict=True)))
    changed = connection.execute(
        update(sealed.table).where(where, sealed.value == value).values({sealed.value.name: fresh})
    )
    return bool(changed.rowcount)
