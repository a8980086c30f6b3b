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
        return self._chain_page(
            revisions, _revision, registry_id, record_id=record_id, after=after, limit=limit
        )

    def iter_revisions(self, registry_id: int) -> Generator[Revision, None, None]:
        return self._chain_walk(revisions, _revision, registry_id)
