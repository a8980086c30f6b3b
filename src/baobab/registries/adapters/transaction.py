"""The base of the registries' SQL store: one open transaction, the chain of bulk writes a
writer thread runs on it, and the fastest insert each engine offers (binary COPY on PostgreSQL,
the driver's ``executemany`` on SQLite)."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import BigInteger, Boolean, Connection, Integer, Row, String, Table, insert, select

from baobab.infra.database import UtcDateTime
from baobab.registries.adapters.tables import registries, versions
from baobab.registries.domain import Operation, Registry
from baobab.registries.schema import compile_schema

COPY_AT_LEAST = 200  # below this many rows a plain INSERT is as fast as COPY


def _sqlite_rows(
    table: Table, columns: Sequence[str], registry_id: int, rows: Sequence[Sequence[Any]]
) -> Iterator[Sequence[Any]]:
    """Rows as SQLAlchemy stores them in SQLite: a ``UtcDateTime`` as naive UTC text (each
    distinct time formatted once: the rows of one import share theirs)."""
    stamps = [n for n, name in enumerate(columns, 1) if isinstance(table.c[name].type, UtcDateTime)]
    if not stamps:
        yield from ((registry_id, *row) for row in rows)
        return
    texts: dict[datetime, str] = {}
    for row in rows:
        values = [registry_id, *row]
        for n in stamps:
            value = values[n]
            if isinstance(value, datetime):
                text = texts.get(value)
                if text is None:
                    text = texts[value] = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
                values[n] = text
        yield values


def _copy_type(table: Table, name: str) -> str:
    """The PostgreSQL type a column's values are sent as in a binary COPY."""
    kind = table.c[name].type
    if isinstance(kind, BigInteger):  # before Integer, which it extends
        return "int8"
    if isinstance(kind, Integer):
        return "int4"
    if isinstance(kind, Boolean):
        return "bool"
    if isinstance(kind, UtcDateTime):
        return "timestamptz"
    if isinstance(kind, String):  # Text too
        return "text"
    raise TypeError(f"{table.name}.{name}: no COPY type for {kind!r}")


_Entry = TypeVar("_Entry")


class SqlTransaction:
    """What every part of the store stands on: the connection, and the bulk write in flight."""

    def __init__(self, connection: Connection, *, autocommit: bool = False) -> None:
        self._connection = connection
        self._autocommit = autocommit  # a reading unit on PostgreSQL: no transaction around it
        self._postgres = connection.dialect.name == "postgresql"
        self._operations: dict[tuple[int, str], frozenset[Operation]] = {}
        self._writer: ThreadPoolExecutor | None = None
        self._pending: Future[None] | None = None
        self._slots: dict[int, Mapping[str, int]] = {}  # registry -> field -> slot

    def _remember(self, registry: Registry) -> Registry:
        """Note the slots of a registry this unit has read (its current schema's)."""
        self._slots[registry.id] = compile_schema(registry.current.schema_text).index_slots
        return registry

    def _slots_of(self, registry_id: int) -> Mapping[str, int]:
        """Field -> slot of a registry's indexed fields, per its current schema."""
        slots = self._slots.get(registry_id)
        if slots is None:
            text = self._c.execute(
                select(versions.c.schema)
                .where(versions.c.registry_id == registry_id)
                .order_by(versions.c.ordinal.desc())
                .limit(1)
            ).scalar_one()
            slots = self._slots[registry_id] = compile_schema(text).index_slots
        return slots

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

    def _insert(
        self, table: Table, columns: Sequence[str], registry_id: int, rows: Sequence[Sequence[Any]]
    ) -> None:
        if not rows:
            return
        if self._postgres and len(rows) >= COPY_AT_LEAST:
            # binary: neither side formats or parses numbers and timestamps as text
            cursor = self._connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
            copied = ("registry_id", *columns)
            statement = f"COPY {table.name} ({', '.join(copied)}) FROM STDIN (FORMAT BINARY)"
            with cursor.copy(statement) as copy:
                copy.set_types([_copy_type(table, name) for name in copied])
                write = copy.write_row
                for row in rows:
                    write((registry_id, *row))
            return
        if len(rows) >= COPY_AT_LEAST:  # SQLite: the driver's executemany, without per-row
            raw = self._connection.connection.driver_connection  # statement processing
            names = ", ".join(("registry_id", *columns))
            marks = ", ".join("?" * (len(columns) + 1))
            raw.executemany(  # type: ignore[union-attr]
                f"INSERT INTO {table.name} ({names}) VALUES ({marks})",  # noqa: S608 - our names
                _sqlite_rows(table, columns, registry_id, rows),
            )
            return
        self._connection.execute(
            insert(table),
            [dict(zip(columns, row, strict=True), registry_id=registry_id) for row in rows],
        )

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """Around a write that must be atomic: in a reading unit, which runs without a
        transaction, a transaction of its own, committed when the block ends; otherwise the
        unit's transaction, committed with it."""
        if not self._autocommit:
            yield
            return
        self._c.exec_driver_sql("BEGIN")
        try:
            yield
        except BaseException:
            self._connection.exec_driver_sql("ROLLBACK")
            raise
        self._connection.exec_driver_sql("COMMIT")

    def _chain_page(
        self,
        table: Table,
        entry: Callable[[str, Row[Any]], _Entry],
        registry_id: int,
        *,
        record_id: str | None,
        after: int,
        limit: int,
    ) -> list[_Entry]:
        """One page of a registry's chained log (revisions or disclosures), by sequence."""
        code = self._code(registry_id)
        query = select(table).where(table.c.registry_id == registry_id, table.c.sequence > after)
        if record_id is not None:
            query = query.where(table.c.record_id == record_id)
        rows = self._c.execute(query.order_by(table.c.sequence).limit(limit))
        return [entry(code, r) for r in rows]

    def _chain_walk(
        self, table: Table, entry: Callable[[str, Row[Any]], _Entry], registry_id: int
    ) -> Generator[_Entry, None, None]:
        """Every entry of a registry's chained log in order, streamed."""
        code = self._code(registry_id)
        rows = self._c.execute(
            select(table)
            .where(table.c.registry_id == registry_id)
            .order_by(table.c.sequence)
            .execution_options(yield_per=5000)
        )
        try:
            for row in rows:
                yield entry(code, row)
        finally:
            rows.close()

    def _code(self, registry_id: int) -> str:
        return str(
            self._c.execute(
                select(registries.c.code).where(registries.c.id == registry_id)
            ).scalar_one()
        )
