"""The log of personal-data reads, a hash chain per registry, in SQL.

Appending takes the chain head (a row of its own per registry, locked until the entries are
stored), links the entries to it and moves it along. In a reading unit of work on PostgreSQL,
which runs without a transaction, the append is a short transaction of its own, shared with the
other reads that arrived meanwhile (:mod:`.disclosure_group`): committed, hence durable, before
the data it logs is returned. In a writing unit it is part of the unit's transaction.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

from sqlalchemy import Row, insert, select, update

from baobab.registries.adapters.disclosure_group import Batch, group_for
from baobab.registries.adapters.tables import disclosure_heads, disclosures
from baobab.registries.adapters.transaction import SqlTransaction
from baobab.registries.disclosure_chain import chain_disclosures
from baobab.registries.domain import Disclosure


def _disclosure(code: str, row: Row[Any]) -> Disclosure:
    return Disclosure(
        row.id,
        code,
        row.record_id,
        row.actor,
        row.at,
        row.operation,
        tuple(f for f in row.fields.split(",") if f),
        row.sequence,
        row.previous_hash,
        row.hash,
    )


class DisclosureStore(SqlTransaction):
    """Disclosures: append to the chain, export, walk for verification."""

    def log_disclosures(
        self, registry_id: int, entries: Sequence[Disclosure]
    ) -> Sequence[Disclosure]:
        if not entries:
            return []
        if self._autocommit:  # a read: committed with whatever other reads queued meanwhile
            group = group_for(self._connection.engine)
            return group.append(registry_id, entries, self._write_batch)
        return self._append(registry_id, [entries])[0]

    def _write_batch(self, batch: Batch) -> list[Sequence[Disclosure]]:
        """One transaction for a batch of reads' entries; heads locked in registry order."""
        by_registry: dict[int, list[int]] = {}
        for position, (registry_id, _) in enumerate(batch):
            by_registry.setdefault(registry_id, []).append(position)
        chained: list[Sequence[Disclosure]] = [()] * len(batch)
        with self._transaction():
            for registry_id in sorted(by_registry):
                positions = by_registry[registry_id]
                results = self._append(registry_id, [batch[p][1] for p in positions])
                for position, result in zip(positions, results, strict=True):
                    chained[position] = result
        return chained

    def _append(
        self, registry_id: int, groups: Sequence[Sequence[Disclosure]]
    ) -> list[Sequence[Disclosure]]:
        """Append groups of entries to one registry's chain, in order, in the transaction
        the caller holds; returns each group chained."""
        row = self._c.execute(
            update(disclosure_heads)
            .where(disclosure_heads.c.registry_id == registry_id)
            .values(sequence=disclosure_heads.c.sequence)
            .returning(disclosure_heads.c.sequence, disclosure_heads.c.hash)
        ).one()
        head = (int(row.sequence), str(row.hash))
        results: list[Sequence[Disclosure]] = []
        for entries in groups:
            chained = chain_disclosures(head, entries)
            head = (chained[-1].sequence, chained[-1].hash)
            results.append(chained)
        self._c.execute(
            insert(disclosures),
            [
                {
                    "registry_id": registry_id,
                    "id": d.id,
                    "record_id": d.record_id,
                    "actor": d.actor,
                    "at": d.at,
                    "operation": d.operation,
                    "fields": ",".join(d.fields),
                    "sequence": d.sequence,
                    "previous_hash": d.previous_hash,
                    "hash": d.hash,
                }
                for chained in results
                for d in chained
            ],
        )
        self._c.execute(
            update(disclosure_heads)
            .where(disclosure_heads.c.registry_id == registry_id)
            .values(sequence=head[0], hash=head[1])
        )
        return results

    def disclosures(
        self, registry_id: int, *, record_id: str | None, after: int, limit: int
    ) -> Sequence[Disclosure]:
        return self._chain_page(
            disclosures, _disclosure, registry_id, record_id=record_id, after=after, limit=limit
        )

    def iter_disclosures(self, registry_id: int) -> Generator[Disclosure, None, None]:
        return self._chain_walk(disclosures, _disclosure, registry_id)

    def disclosure_head(self, registry_id: int) -> tuple[int, str]:
        row = self._c.execute(
            select(disclosure_heads.c.sequence, disclosure_heads.c.hash).where(
                disclosure_heads.c.registry_id == registry_id
            )
        ).one()
        return int(row.sequence), str(row.hash)
