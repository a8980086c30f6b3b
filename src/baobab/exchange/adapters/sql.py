"""The exchange's tables and its SQL store (SQLAlchemy Core, SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Integer,
    LargeBinary,
    MetaData,
    Row,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from baobab.directory import ClientId
from baobab.exchange.adapters.pubsub_sql import SqlPubSubStore
from baobab.exchange.adapters.rights_sql import SqlRightsStore
from baobab.exchange.domain import Checkpoint, LogEntry, SealedBody, Service
from baobab.infra.audit import SqlAuditTrail
from baobab.infra.database import Database, UtcDateTime
from baobab.kernel.hashchain import GENESIS

metadata = MetaData()
_SEQUENCE = BigInteger().with_variant(Integer, "sqlite")

services = Table(
    "exchange_services",
    metadata,
    Column("provider", String(265), primary_key=True),
    Column("service_code", String(100), primary_key=True),
    Column("version", String(40), nullable=False),
    Column("base_url", String(2000), nullable=False),
    Column("description", String(500), nullable=False),
    Column("openapi", Text),
    Column("personal_data", Boolean, nullable=False),
    Column("agreement_id", String(100)),
    Column("purposes", String(2000), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

log = Table(
    "exchange_log",
    metadata,
    Column("sequence", _SEQUENCE, primary_key=True, autoincrement=False),
    Column("message_id", String(40), nullable=False, unique=True),
    Column("client", String(265), nullable=False),
    Column("service", String(370), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("payload", Text, nullable=False),
    Column("previous_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

log_head = Table(
    "exchange_log_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("sequence", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

checkpoints = Table(
    "exchange_checkpoints",
    metadata,
    Column("last", _SEQUENCE, primary_key=True, autoincrement=False),
    Column("first", BigInteger, nullable=False),
    Column("root", String(64), nullable=False),
    Column("last_hash", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("jws", Text, nullable=False),
)


bodies = Table(
    "exchange_bodies",
    metadata,
    Column("message_id", String(40), primary_key=True),
    Column("part", String(10), primary_key=True),
    Column("key_id", String(100), nullable=False),
    Column("nonce", LargeBinary, nullable=False),
    Column("ciphertext", LargeBinary, nullable=False),
)

stamps = Table(
    "exchange_checkpoint_stamps",
    metadata,
    Column("last", BigInteger, primary_key=True, autoincrement=False),
    Column("token", Text, nullable=False),
    Column("stamped_at", UtcDateTime, nullable=False),
)

# the log's hot statements, written once for the driver (see SqlExchangeStore._driver_execute)
_ADVANCE_HEAD_SQL = (
    "UPDATE exchange_log_head SET sequence = sequence + ? WHERE id = 1 RETURNING sequence, hash"
)
_SET_HEAD_SQL = "UPDATE exchange_log_head SET sequence = ?, hash = ? WHERE id = 1"
_INSERT_ENTRY_SQL = (
    "INSERT INTO exchange_log (sequence, message_id, client, service, outcome, payload,"
    " previous_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_LAST_CHECKPOINT = select(checkpoints).order_by(checkpoints.c.last.desc()).limit(1)


def _service(row: Row[Any]) -> Service:
    return Service(
        provider=ClientId.parse(row.provider),
        code=row.service_code,
        version=row.version,
        base_url=row.base_url,
        created_at=row.created_at,
        description=row.description,
        openapi=json.loads(row.openapi) if row.openapi is not None else None,
        personal_data=row.personal_data,
        agreement_id=row.agreement_id,
        purposes=tuple(json.loads(row.purposes)),
        enabled=row.enabled,
    )


def _service_values(service: Service) -> dict[str, Any]:
    return {
        "provider": str(service.provider),
        "service_code": service.code,
        "version": service.version,
        "base_url": service.base_url,
        "description": service.description,
        "openapi": json.dumps(service.openapi) if service.openapi is not None else None,
        "personal_data": service.personal_data,
        "agreement_id": service.agreement_id,
        "purposes": json.dumps(list(service.purposes)),
        "enabled": service.enabled,
        "created_at": service.created_at,
    }


def _entry(row: Row[Any]) -> LogEntry:
    return LogEntry(
        sequence=row.sequence,
        message_id=row.message_id,
        payload=json.loads(row.payload),
        previous_hash=row.previous_hash,
        hash=row.hash,
    )


def _checkpoint(row: Row[Any]) -> Checkpoint:
    return Checkpoint(row.first, row.last, row.root, row.last_hash, row.at, row.jws)


class SqlExchangeStore:
    """Services, the message log and its checkpoints over one open transaction."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    # --- services -----------------------------------------------------------------------------

    def get_service(self, provider: ClientId, code: str) -> Service | None:
        row = self._c.execute(
            select(services).where(
                services.c.provider == str(provider), services.c.service_code == code
            )
        ).first()
        return _service(row) if row else None

    def add_service(self, service: Service) -> bool:
        dialect_insert = (
            postgresql.insert if self._c.dialect.name == "postgresql" else sqlite.insert
        )
        statement = dialect_insert(services).values(**_service_values(service))
        inserted = self._c.execute(
            statement.on_conflict_do_nothing().returning(services.c.provider)
        ).first()
        return inserted is not None

    def save_service(self, service: Service) -> None:
        values = _service_values(service)
        self._c.execute(
            update(services)
            .where(
                services.c.provider == values.pop("provider"),
                services.c.service_code == values.pop("service_code"),
            )
            .values(**values)
        )

    def remove_service(self, provider: ClientId, code: str) -> bool:
        result = self._c.execute(
            delete(services).where(
                services.c.provider == str(provider), services.c.service_code == code
            )
        )
        return result.rowcount == 1

    def list_services(self, provider: ClientId | None = None) -> Sequence[Service]:
        query = select(services).order_by(services.c.provider, services.c.service_code)
        if provider is not None:
            query = query.where(services.c.provider == str(provider))
        return [_service(r) for r in self._c.execute(query)]

    # --- the message log ----------------------------------------------------------------------

    def advance_head(self, count: int) -> tuple[int, str]:
        row = self._driver_execute(_ADVANCE_HEAD_SQL, (count,))
        if row is None:  # first write ever (or an emptied table): seed the head, then take it
            dialect_insert = (
                postgresql.insert if self._c.dialect.name == "postgresql" else sqlite.insert
            )
            self._c.execute(
                dialect_insert(log_head)
                .values(id=1, sequence=0, hash=GENESIS)
                .on_conflict_do_nothing()
            )
            row = self._driver_execute(_ADVANCE_HEAD_SQL, (count,))
        return int(row[0]) - count, str(row[1])

    def set_head_hash(self, sequence: int, hash_: str) -> None:
        self._driver_execute(_SET_HEAD_SQL, (sequence, hash_))

    def head(self) -> tuple[int, str]:
        row = self._c.execute(select(log_head.c.sequence, log_head.c.hash)).first()
        return (int(row.sequence), str(row.hash)) if row else (0, GENESIS)

    def insert_entries(self, entries: Sequence[LogEntry]) -> None:
        rows = [
            (
                e.sequence,
                e.message_id,
                str(e.payload.get("client", "")),
                str(e.payload.get("service", "")),
                str(e.payload.get("outcome", "")),
                e.encoded.decode()
                if e.encoded is not None
                else json.dumps(e.payload, sort_keys=True, separators=(",", ":")),
                e.previous_hash,
                e.hash,
            )
            for e in entries
        ]
        cursor = self._c.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(self._in_driver_style(_INSERT_ENTRY_SQL), rows)
        finally:
            cursor.close()

    # The log's three statements per batch go to the driver's cursor, inside the unit of work's
    # transaction: SQLAlchemy's execution path (events, compiled-statement cache, result
    # wrapping) cost more CPU than the statements themselves, a millisecond per small batch.
    def _in_driver_style(self, statement: str) -> str:
        """``statement`` (``?`` placeholders) in the driver's parameter style."""
        return statement if self._c.dialect.paramstyle == "qmark" else statement.replace("?", "%s")

    def _driver_execute(self, statement: str, parameters: tuple[Any, ...]) -> Any:
        """Run one statement on the driver's cursor; its first row, if it returns any."""
        cursor = self._c.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(self._in_driver_style(statement), parameters)
            return cursor.fetchone() if cursor.description else None
        finally:
            cursor.close()

    def entries(self, first: int, last: int) -> Sequence[LogEntry]:
        query = (
            select(log)
            .where(log.c.sequence >= first, log.c.sequence <= last)
            .order_by(log.c.sequence)
        )
        return [_entry(r) for r in self._c.execute(query)]

    def entry_hashes(self, first: int, last: int) -> Sequence[str]:
        query = (
            select(log.c.hash)
            .where(log.c.sequence >= first, log.c.sequence <= last)
            .order_by(log.c.sequence)
        )
        return [str(h) for h in self._c.execute(query).scalars()]

    def find_entry(self, message_id: str) -> LogEntry | None:
        row = self._c.execute(select(log).where(log.c.message_id == message_id)).first()
        return _entry(row) if row else None

    def last_checkpoint(self) -> Checkpoint | None:
        row = self._c.execute(_LAST_CHECKPOINT).first()
        return _checkpoint(row) if row else None

    def checkpoint_covering(self, sequence: int) -> Checkpoint | None:
        row = self._c.execute(
            select(checkpoints).where(
                checkpoints.c.first <= sequence, checkpoints.c.last >= sequence
            )
        ).first()
        return _checkpoint(row) if row else None

    def add_checkpoint(self, checkpoint: Checkpoint) -> None:
        self._c.execute(
            insert(checkpoints).values(
                first=checkpoint.first,
                last=checkpoint.last,
                root=checkpoint.root,
                last_hash=checkpoint.last_hash,
                at=checkpoint.at,
                jws=checkpoint.jws,
            )
        )

    def checkpoints(self) -> Sequence[Checkpoint]:
        query = select(checkpoints).order_by(checkpoints.c.last)
        return [_checkpoint(r) for r in self._c.execute(query)]

    # --- encrypted bodies and time-stamps -----------------------------------------------------

    def insert_bodies(self, sealed: Sequence[SealedBody]) -> None:
        if sealed:
            self._c.execute(
                insert(bodies),
                [
                    {
                        "message_id": b.message_id,
                        "part": b.part,
                        "key_id": b.key_id,
                        "nonce": b.nonce,
                        "ciphertext": b.ciphertext,
                    }
                    for b in sealed
                ],
            )

    def bodies_of(self, message_id: str) -> Sequence[SealedBody]:
        query = select(bodies).where(bodies.c.message_id == message_id).order_by(bodies.c.part)
        return [
            SealedBody(r.message_id, r.part, r.key_id, bytes(r.nonce), bytes(r.ciphertext))
            for r in self._c.execute(query)
        ]

    def unstamped_checkpoints(self, limit: int) -> Sequence[Checkpoint]:
        stamped = select(stamps.c.last)
        query = (
            select(checkpoints)
            .where(checkpoints.c.last.not_in(stamped))
            .order_by(checkpoints.c.last)
            .limit(limit)
        )
        return [_checkpoint(r) for r in self._c.execute(query)]

    def add_stamp(self, last: int, token: str, stamped_at: datetime) -> None:
        self._c.execute(insert(stamps).values(last=last, token=token, stamped_at=stamped_at))

    def stamps(self) -> dict[int, str]:
        return {int(r.last): str(r.token) for r in self._c.execute(select(stamps))}

    def stamp_of(self, last: int) -> str | None:
        token = self._c.execute(select(stamps.c.token).where(stamps.c.last == last)).scalar()
        return None if token is None else str(token)


class SqlExchangeUnitOfWork:
    """One database transaction holding the exchange store and the audit trail."""

    services: SqlExchangeStore
    log: SqlExchangeStore
    pubsub: SqlPubSubStore
    rights: SqlRightsStore
    audit: SqlAuditTrail

    def __init__(self, db: Database) -> None:
        self._db = db

    def __enter__(self) -> SqlExchangeUnitOfWork:
        self._transaction = self._db.transaction()
        connection = self._transaction.__enter__()
        self.services = self.log = SqlExchangeStore(connection)
        self.pubsub = SqlPubSubStore(connection)
        self.rights = SqlRightsStore(connection)
        self.audit = SqlAuditTrail(connection)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._transaction.__exit__(exc_type, exc, tb)
