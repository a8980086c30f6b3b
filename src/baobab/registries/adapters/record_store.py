"""Records in SQL: read one, check ids and indexed values, search by indexed fields, iterate.

A record's current data is that of its newest revision (``revision_seq``). The value of each
indexed field is kept in the record's row, in the field's slot column, under a partial B-tree
index, which works the same on both engines; a search is driven by its first filter's index."""

from __future__ import annotations

import json
from collections.abc import Collection, Generator
from typing import Any

from sqlalchemy import (
    Row,
    and_,
    false,
    select,
)
from sqlalchemy.sql import FromClause

from baobab.registries.adapters.search_statements import (
    count_statement,
    exists_statement,
    page_statement,
    parameters,
    shape_of,
)
from baobab.registries.adapters.tables import (
    RECORD_COLUMNS,
    records,
    revisions,
    slot_column,
)
from baobab.registries.adapters.transaction import SqlTransaction
from baobab.registries.domain import (
    Page,
    Record,
    SearchQuery,
)
from baobab.registries.ports import RecordRow


def _record(row: Row[Any]) -> Record:
    data = json.loads(row.data) if row.data else {}
    return Record(
        row.record_id,
        row.version,
        row.schema_version,
        data,
        row.deleted,
        row.created_at,
        row.updated_at,
    )


class RecordStore(SqlTransaction):
    """Reads of records and of the index."""

    def _with_data(self) -> FromClause:
        return records.join(
            revisions,
            and_(
                revisions.c.registry_id == records.c.registry_id,
                revisions.c.sequence == records.c.revision_seq,
            ),
        )

    def get_record(self, registry_id: int, record_id: str) -> Record | None:
        row = self._c.execute(
            select(records, revisions.c.data)
            .select_from(self._with_data())
            .where(records.c.registry_id == registry_id, records.c.record_id == record_id)
        ).first()
        return _record(row) if row else None

    def live_ids(self, registry_id: int, ids: Collection[str]) -> set[str]:
        return self._ids(registry_id, ids, live=True)

    def known_ids(self, registry_id: int, ids: Collection[str]) -> set[str]:
        return self._ids(registry_id, ids, live=False)

    def _ids(self, registry_id: int, ids: Collection[str], *, live: bool) -> set[str]:
        found: set[str] = set()
        wanted = list(ids)
        for start in range(0, len(wanted), 1000):
            query = select(records.c.record_id).where(
                records.c.registry_id == registry_id,
                records.c.record_id.in_(wanted[start : start + 1000]),
            )
            if live:
                query = query.where(records.c.deleted == false())
            found.update(r.record_id for r in self._c.execute(query))
        return found

    def taken(self, registry_id: int, field: str, values: Collection[str]) -> dict[str, str]:
        slot = self._slots_of(registry_id).get(field)
        if slot is None:
            return {}
        column = records.c[slot_column(slot)]  # its partial index answers
        held: dict[str, str] = {}
        wanted = list(values)
        for start in range(0, len(wanted), 1000):
            rows = self._c.execute(
                select(column, records.c.record_id).where(
                    records.c.registry_id == registry_id,
                    column.in_(wanted[start : start + 1000]),
                )
            )
            held.update((value, record_id) for value, record_id in rows)
        return held

    def search(self, registry_id: int, query: SearchQuery, *, count: bool = True) -> Page:
        slots = self._slots_of(registry_id)
        shape = shape_of(query, slots)
        if shape is None:
            return Page(0, [])
        values = parameters(registry_id, query)
        sort_slot = slots.get(query.sort_field) if query.sort_field is not None else None
        statement = page_statement(shape, sort_slot, query.descending)
        found = [_record(row) for row in self._c.execute(statement, values)]
        if not count:
            total = len(found)
        elif len(found) < query.limit and (found or query.offset == 0):
            total = query.offset + len(found)  # the last page: no need to count
        else:
            total = int(self._c.execute(count_statement(shape), values).scalar_one())
        return Page(total, found)

    def exists(self, registry_id: int, query: SearchQuery) -> bool:
        shape = shape_of(query, self._slots_of(registry_id))
        if shape is None:
            return False
        statement = exists_statement(shape)
        return self._c.execute(statement, parameters(registry_id, query)).first() is not None

    def iter_records(self, registry_id: int) -> Generator[Record, None, None]:
        rows = self._c.execute(
            select(records, revisions.c.data)
            .select_from(self._with_data())
            .where(records.c.registry_id == registry_id, records.c.deleted == false())
            .order_by(records.c.record_id)
            .execution_options(yield_per=2000)
        )
        try:
            for row in rows:
                yield _record(row)
        finally:
            rows.close()

    def iter_record_heads(self, registry_id: int) -> Generator[RecordRow, None, None]:
        rows = self._c.execute(
            select(*(records.c[name] for name in RECORD_COLUMNS))
            .where(records.c.registry_id == registry_id)
            .execution_options(yield_per=5000)
        )
        try:
            for row in rows:
                yield RecordRow(*row)
        finally:
            rows.close()
