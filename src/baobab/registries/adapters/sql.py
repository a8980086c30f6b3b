"""The registries' tables and SQL store (SQLAlchemy Core, SQLite and PostgreSQL).

A record's current data is that of its newest revision (``revision_seq``), so each version of a
record is stored once. Indexed fields live in a side table ``(registry, field, value, record)``
with a B-tree index, which works the same on both engines; unique fields also hold a row in
``registries_unique`` whose primary key makes two holders impossible. Bulk writes use COPY on
PostgreSQL and ``executemany`` on SQLite.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Generator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Table,
    and_,
    bindparam,
    delete,
    false,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import FromClause

from baobab.infra.audit import SqlAuditTrail
from baobab.infra.database import Database
from baobab.registries.adapters.tables import (
    RECORD_COLUMNS,
    REVISION_COLUMNS,
    disclosures,
    index,
    records,
    registries,
    revisions,
    rights,
    unique,
    versions,
)
from baobab.registries.domain import (
    Change,
    Disclosure,
    Operation,
    Page,
    Record,
    Registry,
    RegistryVersion,
    Revision,
    Right,
    SearchQuery,
)
from baobab.registries.ports import IndexEntry, RecordRow, WriteBatch

_COPY_AT_LEAST = 200  # below this many rows a plain INSERT is as fast as COPY
# definition hash -> published versions: a process keeps what it read under an unchanged hash
_DEFINITIONS: dict[str, tuple[RegistryVersion, ...]] = {}


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


def _sqlite_value(value: Any) -> Any:
    """A value as SQLAlchemy stores it in SQLite (``UtcDateTime``: naive UTC text)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


class SqlRegistryStore:
    """The registries store over one open transaction."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._postgres = connection.dialect.name == "postgresql"
        self._operations: dict[tuple[int, str], frozenset[Operation]] = {}
        self._writer: ThreadPoolExecutor | None = None
        self._pending: Future[None] | None = None

    @property
    def _c(self) -> Connection:
        """The connection, once the bulk write in flight (if any) has finished."""
        self.drain()
        return self._connection

    def drain(self) -> None:
        """Wait for the bulk write in flight; raise its error if it failed."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def finish(self) -> None:
        """Drain and stop the writer thread; called before the unit of work ends."""
        try:
            self.drain()
        finally:
            if self._writer is not None:
                self._writer.shutdown(wait=True)
                self._writer = None

    # --- registries -----------------------------------------------------------------------

    def _registries(self, where: ColumnElement[bool] | None) -> list[Registry]:
        query = select(registries)
        if where is not None:
            query = query.where(where)
        found = list(self._c.execute(query.order_by(registries.c.code)))
        if not found:
            return []
        published: dict[int, list[RegistryVersion]] = {r.id: [] for r in found}
        rows = self._c.execute(
            select(versions)
            .where(versions.c.registry_id.in_(list(published)))
            .order_by(versions.c.registry_id, versions.c.ordinal)
        )
        for v in rows:
            published[v.registry_id].append(
                RegistryVersion(v.version, v.schema, v.created_at, v.created_by)
            )
        return [
            Registry(r.id, r.code, r.name, r.description, r.created_at, tuple(published[r.id]))
            for r in found
            if published[r.id]
        ]

    def get_registry(self, code: str) -> Registry | None:
        found = self._registries(registries.c.code == code)
        return found[0] if found else None

    def list_registries(self) -> Sequence[Registry]:
        return self._registries(None)

    def registry_for(self, code: str, client_id: str) -> Registry | None:
        rows = self._c.execute(
            select(registries, rights.c.operation)
            .select_from(
                registries.outerjoin(
                    rights,
                    and_(rights.c.registry_id == registries.c.id, rights.c.client_id == client_id),
                )
            )
            .where(registries.c.code == code)
        ).all()
        if not rows:
            return None
        first = rows[0]
        self._operations[(first.id, client_id)] = frozenset(
            Operation(r.operation) for r in rows if r.operation is not None
        )
        published = _DEFINITIONS.get(first.definition_hash)
        if published is None:
            published = self._versions(first.id)
            _DEFINITIONS[first.definition_hash] = published
            while len(_DEFINITIONS) > 256:
                _DEFINITIONS.pop(next(iter(_DEFINITIONS)))
        return Registry(
            first.id, first.code, first.name, first.description, first.created_at, published
        )

    def _versions(self, registry_id: int) -> tuple[RegistryVersion, ...]:
        rows = self._c.execute(
            select(versions)
            .where(versions.c.registry_id == registry_id)
            .order_by(versions.c.ordinal)
        )
        return tuple(RegistryVersion(v.version, v.schema, v.created_at, v.created_by) for v in rows)

    def add_registry(
        self, *, code: str, name: str, description: str, created_at: datetime
    ) -> int | None:
        dialect_insert = postgresql.insert if self._postgres else sqlite.insert
        statement = (
            dialect_insert(registries)
            .values(
                code=code,
                name=name,
                description=description,
                created_at=created_at,
                head_sequence=0,
                head_hash="0" * 64,
                definition_hash="0" * 64,
            )
            .on_conflict_do_nothing()
            .returning(registries.c.id)
        )
        row = self._c.execute(statement).first()
        return int(row.id) if row else None

    def add_version(self, registry_id: int, version: RegistryVersion) -> bool:
        ordinal = self._c.execute(
            select(func.count()).where(versions.c.registry_id == registry_id)
        ).scalar_one()
        exists = self._c.execute(
            select(versions.c.version).where(
                versions.c.registry_id == registry_id, versions.c.version == version.version
            )
        ).first()
        if exists:
            return False
        self._c.execute(
            insert(versions).values(
                registry_id=registry_id,
                version=version.version,
                ordinal=ordinal + 1,
                schema=version.schema_text,
                created_at=version.created_at,
                created_by=version.created_by,
            )
        )
        previous = self._c.execute(
            select(registries.c.definition_hash).where(registries.c.id == registry_id)
        ).scalar_one()
        digest = hashlib.sha256(
            f"{previous}\n{version.version}\n{version.created_at.isoformat()}\n"
            f"{version.created_by}\n{version.schema_text}".encode()
        ).hexdigest()
        self._c.execute(
            update(registries).where(registries.c.id == registry_id).values(definition_hash=digest)
        )
        return True

    # --- rights ---------------------------------------------------------------------------

    def operations_of(self, registry_id: int, client_id: str) -> frozenset[Operation]:
        known = self._operations.get((registry_id, client_id))
        if known is not None:
            return known
        rows = self._c.execute(
            select(rights.c.operation).where(
                rights.c.registry_id == registry_id, rights.c.client_id == client_id
            )
        )
        return frozenset(Operation(r.operation) for r in rows)

    def add_right(self, registry_id: int, right: Right) -> bool:
        dialect_insert = postgresql.insert if self._postgres else sqlite.insert
        statement = (
            dialect_insert(rights)
            .values(
                registry_id=registry_id,
                client_id=right.client_id,
                operation=str(right.operation),
                granted_at=right.granted_at,
            )
            .on_conflict_do_nothing()
            .returning(rights.c.operation)
        )
        return self._c.execute(statement).first() is not None

    def remove_right(self, registry_id: int, client_id: str, operation: Operation) -> bool:
        result = self._c.execute(
            delete(rights).where(
                rights.c.registry_id == registry_id,
                rights.c.client_id == client_id,
                rights.c.operation == str(operation),
            )
        )
        return result.rowcount == 1

    def rights(self, registry_id: int) -> Sequence[Right]:
        code = self._code(registry_id)
        rows = self._c.execute(
            select(rights)
            .where(rights.c.registry_id == registry_id)
            .order_by(rights.c.client_id, rights.c.operation)
        )
        return [Right(code, r.client_id, Operation(r.operation), r.granted_at) for r in rows]

    def _code(self, registry_id: int) -> str:
        return str(
            self._c.execute(
                select(registries.c.code).where(registries.c.id == registry_id)
            ).scalar_one()
        )

    # --- chain ----------------------------------------------------------------------------

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

    # --- records --------------------------------------------------------------------------

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
        held: dict[str, str] = {}
        wanted = list(values)
        for start in range(0, len(wanted), 1000):
            rows = self._c.execute(
                select(unique.c.value, unique.c.record_id).where(
                    unique.c.registry_id == registry_id,
                    unique.c.field == field,
                    unique.c.value.in_(wanted[start : start + 1000]),
                )
            )
            held.update((r.value, r.record_id) for r in rows)
        return held

    def _matching(self, registry_id: int, query: SearchQuery) -> tuple[FromClause, Any, list[Any]]:
        """The matching record ids: driven by the first filter's index range when there is a
        filter (deleted records hold no index rows), else by the live records."""
        if not query.filters:
            where: list[Any] = [records.c.registry_id == registry_id, records.c.deleted == false()]
            if query.record_id is not None:
                where.append(records.c.record_id == query.record_id)
            return records, records.c.record_id, where
        first = index.alias("f0")
        source: FromClause = first
        where = [
            first.c.registry_id == registry_id,
            first.c.field == query.filters[0].field,
            first.c.value == query.filters[0].value,
        ]
        for number, condition in enumerate(query.filters[1:], start=1):
            alias = index.alias(f"f{number}")
            source = source.join(
                alias,
                and_(
                    alias.c.registry_id == first.c.registry_id,
                    alias.c.record_id == first.c.record_id,
                    alias.c.field == condition.field,
                    alias.c.value == condition.value,
                ),
            )
        if query.record_id is not None:
            where.append(first.c.record_id == query.record_id)
        return source, first.c.record_id, where

    def search(self, registry_id: int, query: SearchQuery, *, count: bool = True) -> Page:
        source, record_id, where = self._matching(registry_id, query)
        order: list[Any] = []
        if query.sort_field is not None:
            by = index.alias("sort_by")
            source = source.outerjoin(
                by,
                and_(
                    by.c.registry_id == registry_id,
                    by.c.record_id == record_id,
                    by.c.field == query.sort_field,
                ),
            )
            order = [by.c.value.is_(None), by.c.value.desc() if query.descending else by.c.value]
        order.append(record_id.desc() if query.descending else record_id)
        page = list(
            self._c.execute(
                select(record_id)
                .select_from(source)
                .where(*where)
                .order_by(*order)
                .offset(query.offset)
                .limit(query.limit)
            ).scalars()
        )
        found: list[Record] = []
        if page:
            rows = self._c.execute(
                select(records, revisions.c.data)
                .select_from(self._with_data())
                .where(records.c.registry_id == registry_id, records.c.record_id.in_(page))
            )
            by_id = {row.record_id: _record(row) for row in rows}
            found = [by_id[i] for i in page if i in by_id]
        if not count:
            total = len(found)
        elif len(page) < query.limit and (page or query.offset == 0):
            total = query.offset + len(page)  # the last page: no need to count
        else:
            source, record_id, where = self._matching(registry_id, query)
            total = int(
                self._c.execute(select(func.count()).select_from(source).where(*where)).scalar_one()
            )
        return Page(total, found)

    def exists(self, registry_id: int, query: SearchQuery) -> bool:
        source, _, where = self._matching(registry_id, query)
        probe = select(literal(1)).select_from(source).where(*where).limit(1)
        return self._c.execute(probe).first() is not None

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

    # --- writes ---------------------------------------------------------------------------

    def write(self, registry_id: int, batch: WriteBatch) -> None:
        """Apply a batch. On PostgreSQL a large insert-only batch (a slice of an import) is
        copied by a writer thread while the caller prepares the next slice; the next use of the
        store, and the end of the unit of work, wait for it."""
        self.drain()
        bulk = (
            self._postgres
            and len(batch.revisions) >= _COPY_AT_LEAST
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

    def _insert(
        self, table: Table, columns: Sequence[str], registry_id: int, rows: Sequence[Sequence[Any]]
    ) -> None:
        if not rows:
            return
        if self._postgres and len(rows) >= _COPY_AT_LEAST:
            cursor = self._connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
            names = ", ".join(("registry_id", *columns))
            with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row((registry_id, *row))
            return
        if len(rows) >= _COPY_AT_LEAST:  # SQLite: the driver's executemany, without per-row
            raw = self._connection.connection.driver_connection  # statement processing
            names = ", ".join(("registry_id", *columns))
            marks = ", ".join("?" * (len(columns) + 1))
            raw.executemany(  # type: ignore[union-attr]
                f"INSERT INTO {table.name} ({names}) VALUES ({marks})",  # noqa: S608 - our names
                ((registry_id, *map(_sqlite_value, row)) for row in rows),
            )
            return
        self._connection.execute(
            insert(table),
            [dict(zip(columns, row, strict=True), registry_id=registry_id) for row in rows],
        )

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

    # --- history --------------------------------------------------------------------------

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

    def log_disclosures(self, registry_id: int, entries: Sequence[Disclosure]) -> None:
        self.drain()
        self._insert(
            disclosures,
            ("id", "record_id", "actor", "at", "operation", "fields"),
            registry_id,
            [(d.id, d.record_id, d.actor, d.at, d.operation, ",".join(d.fields)) for d in entries],
        )

    def disclosures(
        self, registry_id: int, *, record_id: str | None, after: str | None, limit: int
    ) -> Sequence[Disclosure]:
        code = self._code(registry_id)
        query = select(disclosures).where(disclosures.c.registry_id == registry_id)
        if record_id is not None:
            query = query.where(disclosures.c.record_id == record_id)
        if after is not None:
            query = query.where(disclosures.c.id > after)
        rows = self._c.execute(query.order_by(disclosures.c.id).limit(limit))
        return [
            Disclosure(
                r.id,
                code,
                r.record_id,
                r.actor,
                r.at,
                r.operation,
                tuple(f for f in r.fields.split(",") if f),
            )
            for r in rows
        ]


class SqlRegistriesUnitOfWork:
    """One database transaction holding the registries store and the audit trail."""

    store: SqlRegistryStore
    audit: SqlAuditTrail

    def __init__(self, db: Database) -> None:
        self._db = db

    def __enter__(self) -> SqlRegistriesUnitOfWork:
        self._transaction = self._db.transaction()
        connection = self._transaction.__enter__()
        self.store = SqlRegistryStore(connection)
        self.audit = SqlAuditTrail(connection)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.store.finish()
        except BaseException as failure:
            if exc is None:  # the change failed in the writer thread: roll it all back
                self._transaction.__exit__(type(failure), failure, failure.__traceback__)
                raise
        self._transaction.__exit__(exc_type, exc, tb)


def vacuum(db: Database) -> None:
    """After a bulk load on PostgreSQL: ``VACUUM (ANALYZE)`` the registries' tables, so that
    counts and exists are answered from the index alone (the visibility map) and the planner
    knows the new sizes. Autovacuum does the same within minutes; an operator need not wait."""
    if db.dialect != "postgresql":
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(
            "VACUUM (ANALYZE) registries_records, registries_revisions, registries_index, "
            "registries_unique"
        )
