"""The base of the registries' SQL store: one open transaction, the chain of bulk writes a
writer thread runs on it, and the fastest insert each engine offers (COPY on PostgreSQL, the
driver's ``executemany`` on SQLite)."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Row, Table, insert, select

from baobab.registries.adapters.tables import registries
from baobab.registries.domain import Operation

COPY_AT_LEAST = 200  # below this many rows a plain INSERT is as fast as COPY


def _sqlite_value(value: Any) -> Any:
    """A value as SQLAlchemy stores it in SQLite (``UtcDateTime``: naive UTC text)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


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
            cursor = self._connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
            names = ", ".join(("registry_id", *columns))
            with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row((registry_id, *row))
            return
        if len(rows) >= COPY_AT_LEAST:  # SQLite: the driver's executemany, without per-row
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
