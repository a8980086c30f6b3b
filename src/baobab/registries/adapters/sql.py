"""The registries' SQL store and unit of work (SQLAlchemy Core, SQLite and PostgreSQL).

A record's current data is that of its newest revision (``revision_seq``), so each version of a
record is stored once. The value of each indexed field is kept in the record's own row, in the
field's slot column (``k1``..``k8``) under a partial B-tree index, which works the same on both
engines; a unique field's value is looked up there before it is written, under the registry's
chain head that every writer holds. Bulk writes use COPY on PostgreSQL and ``executemany`` on
SQLite.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from types import TracebackType

from sqlalchemy import Connection

from baobab.infra.audit import SqlAuditTrail
from baobab.infra.database import Database
from baobab.kernel.audit import AuditEvent, AuditTrail
from baobab.registries.adapters.definition_store import DefinitionStore
from baobab.registries.adapters.disclosure_store import DisclosureStore
from baobab.registries.adapters.history_store import HistoryStore
from baobab.registries.adapters.record_store import RecordStore
from baobab.registries.adapters.write_store import WriteStore


class SqlRegistryStore(DefinitionStore, RecordStore, WriteStore, HistoryStore, DisclosureStore):
    """The registries store over one open transaction: each part in its own module."""


class _NoAuditInReads:
    """The audit trail of a reading unit, which has no transaction to append in atomically."""

    def append(self, event: AuditEvent, *, at: datetime) -> None:
        raise RuntimeError(f"a read appended {event.action!r} to the audit trail; use a unit")


class SqlRegistriesUnitOfWork:
    """One database transaction holding the registries store and the audit trail (a read on
    PostgreSQL: a connection without a transaction, see :meth:`reading`)."""

    store: SqlRegistryStore
    audit: AuditTrail

    def __init__(self, db: Database) -> None:
        self._db = db
        self._reading = False

    def reading(self) -> SqlRegistriesUnitOfWork:
        """A read: on PostgreSQL it runs without a transaction (no BEGIN and COMMIT round
        trips); the disclosures it logs are a short transaction of their own. SQLite runs
        in-process, where a transaction costs no round trip: it keeps one."""
        self._reading = self._db.dialect == "postgresql"
        return self

    def __enter__(self) -> SqlRegistriesUnitOfWork:
        if self._reading:
            self._transaction: AbstractContextManager[Connection] = self._db.engine.connect()
            connection = self._transaction.__enter__()
            connection.execution_options(isolation_level="AUTOCOMMIT")
        else:
            self._transaction = self._db.transaction()
            connection = self._transaction.__enter__()
        self.store = SqlRegistryStore(connection, autocommit=self._reading)
        self.audit = _NoAuditInReads() if self._reading else SqlAuditTrail(connection)
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
        connection.exec_driver_sql("VACUUM (ANALYZE) registries_records, registries_revisions")
