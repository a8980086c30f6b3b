"""Writes of records, revisions and index entries in SQL, one batch at a time. On PostgreSQL a
large insert-only batch (a slice of an import) is copied by a writer thread while the caller
prepares the next slice."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import (
    bindparam,
    delete,
    update,
)

from baobab.registries.adapters.tables import (
    RECORD_COLUMNS,
    REVISION_COLUMNS,
    index,
    records,
    revisions,
    unique,
)
from baobab.registries.adapters.transaction import COPY_AT_LEAST, SqlTransaction
from baobab.registries.ports import IndexEntry, WriteBatch


class WriteStore(SqlTransaction):
    """Batches of changes, index rebuilds and planner statistics."""

    def write(self, registry_id: int, batch: WriteBatch) -> None:
        """Apply a batch. On PostgreSQL a large insert-only batch (a slice of an import) is
        copied by a writer thread while the caller prepares the next slice; the next use of the
        store, and the end of the unit of work, wait for it."""
        self.drain()
        bulk = (
            self._postgres
            and len(batch.revisions) >= COPY_AT_LEAST
            and not (batch.changed_records or batch.index_removed or batch.unique_removed)
        )
        if bulk:
            if self._writer is None:
                self._writer = ThreadPoolExecutor(1, thread_name_prefix="registries-copy")
            self._pending = self._writer.submit(self._write, registry_id, batch)
            return
        self._write(registry_id, batch)

    def _write(self, registry_id: int, batch: WriteBatch) -> None:
        self._insert(revisions, REVISION_COLUMNS, registry_id, batch.revisions)
        self._insert(records, RECORD_COLUMNS, registry_id, batch.new_records)
        if batch.changed_records:
            self._connection.execute(
                update(records)
                .where(
                    records.c.registry_id == registry_id,
                    records.c.record_id == bindparam("b_record_id"),
                )
                .values(
                    version=bindparam("b_version"),
                    schema_version=bindparam("b_schema_version"),
                    revision_seq=bindparam("b_revision_seq"),
                    deleted=bindparam("b_deleted"),
                    updated_at=bindparam("b_updated_at"),
                ),
                [{f"b_{k}": v for k, v in r._asdict().items()} for r in batch.changed_records],
            )
        if batch.index_removed:
            self._connection.execute(
                delete(index).where(
                    index.c.registry_id == registry_id,
                    index.c.record_id == bindparam("b_record_id"),
                    index.c.field == bindparam("b_field"),
                ),
                [{"b_record_id": e.record_id, "b_field": e.field} for e in batch.index_removed],
            )
        if batch.unique_removed:
            self._connection.execute(
                delete(unique).where(
                    unique.c.registry_id == registry_id,
                    unique.c.field == bindparam("b_field"),
                    unique.c.value == bindparam("b_value"),
                ),
                [{"b_field": e.field, "b_value": e.value} for e in batch.unique_removed],
            )
        self._insert(index, ("record_id", "field", "value"), registry_id, batch.index_added)
        self._insert(unique, ("record_id", "field", "value"), registry_id, batch.unique_added)

    def refresh_statistics(self) -> None:
        tables = (
            "registries_records",
            "registries_revisions",
            "registries_index",
            "registries_unique",
        )
        if self._postgres:
            self._c.exec_driver_sql(f"ANALYZE {', '.join(tables)}")
        else:
            self._c.exec_driver_sql("PRAGMA analysis_limit=1000")
            for table in tables:
                self._c.exec_driver_sql(f"ANALYZE {table}")

    def replace_index(
        self,
        registry_id: int,
        index_entries: Sequence[IndexEntry],
        unique_entries: Sequence[IndexEntry],
    ) -> None:
        self.drain()
        self._c.execute(delete(index).where(index.c.registry_id == registry_id))
        self._c.execute(delete(unique).where(unique.c.registry_id == registry_id))
        self._insert(index, ("record_id", "field", "value"), registry_id, index_entries)
        self._insert(unique, ("record_id", "field", "value"), registry_id, unique_entries)
