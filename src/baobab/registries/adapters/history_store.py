"""The revision chain of each registry, in SQL."""

from __future__ import annotations

import json
from collections.abc import Generator, Sequence
from typing import Any

from sqlalchemy import (
    Row,
    select,
    update,
)

from baobab.registries.adapters.tables import (
    registries,
    revisions,
)
from baobab.registries.adapters.transaction import SqlTransaction
from baobab.registries.domain import (
    Change,
    Revision,
)


def _revision(code: str, row: Row[Any]) -> Revision:
    return Revision(
        code,
        row.sequence,
        row.record_id,
        row.record_version,
        Change(row.operation),
        row.schema_version,
        json.loads(row.data) if row.data is not None else None,
        row.actor,
        row.at,
        row.reason,
        row.previous_hash,
        row.hash,
    )


class HistoryStore(SqlTransaction):
    """The chain head and the revisions."""

    def lock_chain(self, registry_id: int) -> tuple[int, str]:
        row = self._c.execute(
            update(registries)
            .where(registries.c.id == registry_id)
            .values(head_sequence=registries.c.head_sequence)
            .returning(registries.c.head_sequence, registries.c.head_hash)
        ).one()
        return int(row.head_sequence), str(row.head_hash)

    def advance_chain(self, registry_id: int, sequence: int, hash: str) -> None:
        self._c.execute(
            update(registries)
            .where(registries.c.id == registry_id)
            .values(head_sequence=sequence, head_hash=hash)
        )

    def chain_head(self, registry_id: int) -> tuple[int, str]:
        row = self._c.execute(
            select(registries.c.head_sequence, registries.c.head_hash).where(
                registries.c.id == registry_id
            )
        ).one()
        return int(row.head_sequence), str(row.head_hash)

    def revisions(
        self, registry_id: int, *, after: int = 0, limit: int = 100, record_id: str | None = None
    ) -> Sequence[Revision]:
        code = self._code(registry_id)
        query = select(revisions).where(
            revisions.c.registry_id == registry_id, revisions.c.sequence > after
        )
        if record_id is not None:
            query = query.where(revisions.c.record_id == record_id)
        rows = self._c.execute(query.order_by(revisions.c.sequence).limit(limit))
        return [_revision(code, r) for r in rows]

    def iter_revisions(self, registry_id: int) -> Generator[Revision, None, None]:
        code = self._code(registry_id)
        rows = self._c.execute(
            select(revisions)
            .where(revisions.c.registry_id == registry_id)
            .order_by(revisions.c.sequence)
            .execution_options(yield_per=5000)
        )
        try:
            for row in rows:
                yield _revision(code, row)
        finally:
            rows.close()
