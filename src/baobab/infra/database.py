"""The database adapter: one SQLAlchemy engine, SQLite (WAL) embedded or PostgreSQL in production.

Repositories receive a ``Connection`` from :meth:`Database.transaction`; a transaction is the unit
of work: everything inside commits together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    DateTime,
    Dialect,
    Engine,
    Table,
    TypeDecorator,
    create_engine,
    event,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from baobab.kernel.errors import Unavailable


class DatabaseUnavailable(Unavailable):
    code = "infra.database_unavailable"
    title = "Database unavailable"


def normalise_url(url: str) -> str:
    """Use psycopg 3 for ``postgresql://`` URLs; leave other URLs as given."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class Database:
    """SQLite runs in WAL mode and takes its write lock when a transaction starts."""

    def __init__(self, url: str, *, sqlite_synchronous: str = "FULL", pool_size: int = 20) -> None:
        url = normalise_url(url)
        parsed = make_url(url)
        self.dialect: str = parsed.get_backend_name()
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(url, connect_args={"check_same_thread": False})
            _configure_sqlite(self.engine, synchronous=sqlite_synchronous)
        else:
            # No pre-ping: it costs a round trip on every checkout. A connection the server has
            # dropped fails its one request, and SQLAlchemy then invalidates the whole pool.
            # 20 kept: the switch alone has 16 request threads, the ledger's batcher, the outbox
            # and a cache refresher; with 10, the connections beyond were opened and closed
            # again all the time under load (20 new server backends a second at 200 payments/s).
            self.engine = create_engine(
                url, pool_size=pool_size, max_overflow=pool_size // 2, pool_recycle=1800
            )

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One unit of work: commits when the block ends, rolls back if it raises."""
        with self.engine.begin() as connection:
            yield connection

    def ping(self) -> None:
        """Raise :class:`DatabaseUnavailable` unless the database answers."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise DatabaseUnavailable("the database does not answer") from exc

    def dispose(self) -> None:
        self.engine.dispose()


def _configure_sqlite(engine: Engine, *, synchronous: str) -> None:
    # pysqlite's own transaction handling defers BEGIN and never takes the write lock up front,
    # which turns concurrent writers into "database is locked" failures; we issue BEGIN IMMEDIATE.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every engine (SQLite keeps no zone, so we re-attach it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def insert_new(connection: Connection, table: Table, values: Mapping[str, Any]) -> bool:
    """Insert a row unless one with the same primary key exists; True if it was inserted.

    Safe under concurrent inserts (``ON CONFLICT DO NOTHING``); the answer comes from
    ``RETURNING``, because ``rowcount`` of such an insert is not reliable on every driver.
    """
    dialect_insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = dialect_insert(table).values(**values).on_conflict_do_nothing()
    return connection.execute(statement.returning(*table.primary_key.columns)).first() is not None
