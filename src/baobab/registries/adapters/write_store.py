"""Writes of records and revisions in SQL, one batch at a time. On PostgreSQL a
large insert-only batch (a slice of an import) is copied by a writer thread while the caller
prepares the next slice.

The values of a record's indexed fields are kept in its own row, each in its field's slot
column: a new record is written with them (the caller puts them in their slots); a change sets
the slots whose values changed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import bindparam, update

from baobab.registries.adapters.tables import (
    RECORD_COLUMNS,
    REVISION_COLUMNS,
    SLOT_COLUMNS,
    records,
    revisions,
    slot_column,
)
from baobab.registries.adapters.transaction import COPY_AT_LEAST, SqlTransaction
from baobab.registries.ports import IndexEntry, WriteBatch

Slotted = dict[str, dict[str, str | None]]  # record id -> slot column -> value (None: cleared)


def _slotted(
    slots: Mapping[str, int], cleared: Iterable[IndexEntry], set_to: Iterable[IndexEntry]
) -> Slotted:
    """The slot columns each record's entries change, ``cleared`` first."""
    changes: Slotted = {}
    for entry in cleared:
        changes.setdefault(entry.record_id, {})[slot_column(slots[entry.field])] = None
    for entry in set_to:
        changes.setdefault(entry.record_id, {})[slot_column(slots[entry.field])] = entry.value
    return changes


class WriteStore(SqlTransaction):
    """Batches of changes, index rebuilds and planner statistics."""

    def write(self, registry_id: int, batch: WriteBatch) -> None:
        """Apply a batch. On PostgreSQL a large insert-only batch (a slice of an import) is
        copied by a writer thread while the caller prepares the next slice; the next use of the
        store, and the end of the unit of work, wait for it."""
        self.drain()
        slots = self._slots_of(registry_id) if batch.index_added or batch.index_removed else {}
        bulk = (
            self._postgres
            and len(batch.revisions) >= COPY_AT_LEAST
            and not (batch.changed_records or batch.index_removed)
        )
        if bulk:
            if self._writer is None:
                self._writer = ThreadPoolExecutor(1, thread_name_prefix="registries-copy")
            self._pending = self._writer.submit(self._write, registry_id, batch, slots)
            return
        self._write(registry_id, batch, slots)

    def _write(self, registry_id: int, batch: WriteBatch, slots: Mapping[str, int]) -> None:
        self._insert(revisions, REVISION_COLUMNS, registry_id, batch.revisions)
        self._insert(
            records,
            (*RECORD_COLUMNS, *SLOT_COLUMNS),
            registry_id,
            [(*row, *values) for row, values in batch.new_records],
        )
        changes = _slotted(slots, batch.index_removed, batch.index_added)
        changed = {
            row.record_id: {
                "version": row.version,
                "schema_version": row.schema_version,
                "revision_seq": row.revision_seq,
                "deleted": row.deleted,
                "updated_at": row.updated_at,
            }
            for row in batch.changed_records
        }
        for record_id, columns in changes.items():
            changed.setdefault(record_id, {}).update(columns)
        self._update_records(registry_id, changed)

    def _update_records(
        self, registry_id: int, changed: Mapping[str, Mapping[str, object]]
    ) -> None:
        """Set the given columns of each record: one statement per set of columns."""
        groups: dict[tuple[str, ...], list[dict[str, object]]] = {}
        for record_id, columns in changed.items():
            names = tuple(sorted(columns))
            parameters = {f"b_{name}": value for name, value in columns.items()}
            groups.setdefault(names, []).append({"b_record_id": record_id, **parameters})
        for names, rows in groups.items():
            self._connection.execute(
                update(records)
                .where(
                    records.c.registry_id == registry_id,
                    records.c.record_id == bindparam("b_record_id"),
                )
                .values({name: bindparam(f"b_{name}") for name in names}),
                rows,
            )

    def refresh_statistics(self) -> None:
        tables = ("registries_records", "registries_revisions")
        if self._postgres:
            self._c.exec_driver_sql(f"ANALYZE {', '.join(tables)}")
        else:
            self._c.exec_driver_sql("PRAGMA analysis_limit=1000")
            for table in tables:
                self._c.exec_driver_sql(f"ANALYZE {table}")

    def replace_index(self, registry_id: int, index_entries: Sequence[IndexEntry]) -> None:
        """Rebuild the index of a registry after its current version changed what is indexed
        (the new version is already published: its slots apply)."""
        self.drain()
        self._slots.pop(registry_id, None)
        slots = self._slots_of(registry_id)
        self._c.execute(
            update(records)
            .where(records.c.registry_id == registry_id)
            .values(dict.fromkeys(SLOT_COLUMNS))
        )
        self._update_records(registry_id, _slotted(slots, (), index_entries))
