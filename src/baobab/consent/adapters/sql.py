"""The consent block's tables, its SQL store and the check's reader (SQLite and PostgreSQL).

Revisions of agreements and of consent records are append-only tables. Beside them,
``consent_records`` holds each record's current state — one narrow row per (agreement,
individual): the choice, the agreement revision it refers to, its expiry and the sequence of the
newest revision — written in the same transaction as the revision it points at. The consent
check is one primary-key lookup in that small table, with no history to scan and nothing cached.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Row,
    String,
    Table,
    Text,
    and_,
    create_engine,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool, PoolProxiedConnection

from baobab.consent.domain import (
    AgreementRevision,
    AgreementTerms,
    Channel,
    ConsentRecord,
    Individual,
    RecordState,
    StoredState,
)
from baobab.consent.ports import BatchCheckState, CheckState
from baobab.infra.audit import SqlAuditTrail
from baobab.infra.database import Database, UtcDateTime, insert_new

metadata = MetaData()

individuals = Table(
    "consent_individuals",
    metadata,
    Column("token", String(128), primary_key=True),
    Column("organisation", String(200), nullable=False, index=True),
    Column("created_at", UtcDateTime, nullable=False),
)

agreements = Table(
    "consent_agreements",
    metadata,
    Column("agreement_id", String(36), primary_key=True),
    Column("organisation", String(200), nullable=False, index=True),
    Column("current_revision", Integer, nullable=False),
)

agreement_revisions = Table(
    "consent_agreement_revisions",
    metadata,
    Column(
        "agreement_id",
        String(36),
        ForeignKey("consent_agreements.agreement_id"),
        primary_key=True,
    ),
    Column("revision", Integer, primary_key=True, autoincrement=False),
    Column("terms", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("actor", String(300), nullable=False),
    Column("previous_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)


records = Table(
    "consent_records",
    metadata,
    Column(
        "agreement_id",
        String(36),
        ForeignKey("consent_agreements.agreement_id"),
        primary_key=True,
    ),
    Column("individual", String(128), primary_key=True),
    Column("record_id", String(36), nullable=False, unique=True),
    Column("organisation", String(200), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("opt_in", Boolean, nullable=False),
    Column("agreement_revision", Integer, nullable=False),
    Column("expires_at", UtcDateTime),
    Index("ix_consent_records_individual", "organisation", "individual"),
    Index("ix_consent_records_organisation", "organisation", "record_id"),
)

record_revisions = Table(
    "consent_record_revisions",
    metadata,
    Column("record_id", String(36), primary_key=True),
    Column("sequence", Integer, primary_key=True, autoincrement=False),
    Column("agreement_id", String(36), nullable=False),
    Column("individual", String(128), nullable=False),
    Column("organisation", String(200), nullable=False),
    Column("agreement_revision", Integer, nullable=False),
    Column("agreement_revision_hash", String(64), nullable=False),
    Column("opt_in", Boolean, nullable=False),
    Column("given_at", UtcDateTime),
    Column("withdrawn_at", UtcDateTime),
    Column("expires_at", UtcDateTime),
    Column("channel", String(20), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(300), nullable=False),
    Column("previous_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("signature", Text, nullable=False),
)


def _agreement(row: Row[Any], organisation: str) -> AgreementRevision:
    return AgreementRevision(
        agreement_id=row.agreement_id,
        organisation=organisation,
        revision=row.revision,
        terms=AgreementTerms.from_dict(json.loads(row.terms)),
        created_at=row.created_at,
        actor=row.actor,
        previous_hash=row.previous_hash,
        hash=row.hash,
    )


def _record(row: Row[Any]) -> ConsentRecord:
    return ConsentRecord(
        record_id=row.record_id,
        sequence=row.sequence,
        organisation=row.organisation,
        agreement_id=row.agreement_id,
        agreement_revision=row.agreement_revision,
        agreement_revision_hash=row.agreement_revision_hash,
        individual=row.individual,
        opt_in=row.opt_in,
        given_at=row.given_at,
        withdrawn_at=row.withdrawn_at,
        expires_at=row.expires_at,
        channel=Channel(row.channel),
        at=row.at,
        actor=row.actor,
        previous_hash=row.previous_hash,
        hash=row.hash,
        signature=row.signature,
    )


def _record_values(record: ConsentRecord) -> dict[str, Any]:
    return {
        "record_id": record.record_id,
        "sequence": record.sequence,
        "agreement_id": record.agreement_id,
        "individual": record.individual,
        "organisation": record.organisation,
        "agreement_revision": record.agreement_revision,
        "agreement_revision_hash": record.agreement_revision_hash,
        "opt_in": record.opt_in,
        "given_at": record.given_at,
        "withdrawn_at": record.withdrawn_at,
        "expires_at": record.expires_at,
        "channel": record.channel.value,
        "at": record.at,
        "actor": record.actor,
        "previous_hash": record.previous_hash,
        "hash": record.hash,
        "signature": record.signature,
    }


_STATE_COLUMNS = ("organisation", "sequence", "opt_in", "agreement_revision", "expires_at")

# a record's newest revision: the revision its current-state row points at
_CURRENT = select(record_revisions).join(
    records,
    and_(
        records.c.record_id == record_revisions.c.record_id,
        records.c.sequence == record_revisions.c.sequence,
    ),
)

_REVISION_WITH_OWNER = select(agreement_revisions, agreements.c.organisation).join(
    agreements, agreements.c.agreement_id == agreement_revisions.c.agreement_id
)


class SqlConsentStore:
    """The consent store over one open transaction."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    # --- individuals

    def add_individual(self, individual: Individual) -> bool:
        values = {
            "token": individual.token,
            "organisation": individual.organisation,
            "created_at": individual.created_at,
        }
        return insert_new(self._c, individuals, values)

    def get_individual(self, token: str) -> Individual | None:
        row = self._c.execute(select(individuals).where(individuals.c.token == token)).first()
        return Individual(row.token, row.organisation, row.created_at) if row else None

    # --- agreements

    def add_agreement(self, first: AgreementRevision) -> None:
        self._c.execute(
            insert(agreements).values(
                agreement_id=first.agreement_id,
                organisation=first.organisation,
                current_revision=first.revision,
            )
        )
        self._insert_agreement_revision(first)

    def lock_agreement(self, agreement_id: str) -> AgreementRevision | None:
        return self._current_agreement(agreement_id, lock=True)

    def append_agreement_revision(self, revision: AgreementRevision) -> None:
        self._insert_agreement_revision(revision)
        self._c.execute(
            update(agreements)
            .where(
                agreements.c.agreement_id == revision.agreement_id,
                agreements.c.current_revision == revision.revision - 1,
            )
            .values(current_revision=revision.revision)
        )

    def get_agreement(self, agreement_id: str) -> AgreementRevision | None:
        return self._current_agreement(agreement_id, lock=False)

    def agreement_revision(self, agreement_id: str, revision: int) -> AgreementRevision | None:
        row = self._c.execute(
            _REVISION_WITH_OWNER.where(
                agreement_revisions.c.agreement_id == agreement_id,
                agreement_revisions.c.revision == revision,
            )
        ).first()
        return _agreement(row, row.organisation) if row else None

    def agreement_history(self, agreement_id: str) -> Sequence[AgreementRevision]:
        rows = self._c.execute(
            _REVISION_WITH_OWNER.where(agreement_revisions.c.agreement_id == agreement_id).order_by(
                agreement_revisions.c.revision
            )
        )
        return [_agreement(row, row.organisation) for row in rows]

    def list_agreements(self, organisation: str) -> Sequence[AgreementRevision]:
        rows = self._c.execute(
            _REVISION_WITH_OWNER.where(
                agreements.c.organisation == organisation,
                agreement_revisions.c.revision == agreements.c.current_revision,
            ).order_by(agreements.c.agreement_id)
        )
        return [_agreement(row, row.organisation) for row in rows]

    def _current_agreement(self, agreement_id: str, *, lock: bool) -> AgreementRevision | None:
        head = select(agreements).where(agreements.c.agreement_id == agreement_id)
        row = self._c.execute(head.with_for_update() if lock else head).first()
        if row is None:
            return None
        return self.agreement_revision(agreement_id, row.current_revision)

    def _insert_agreement_revision(self, revision: AgreementRevision) -> None:
        self._c.execute(
            insert(agreement_revisions).values(
                agreement_id=revision.agreement_id,
                revision=revision.revision,
                terms=json.dumps(revision.terms.to_dict(), sort_keys=True),
                created_at=revision.created_at,
                actor=revision.actor,
                previous_hash=revision.previous_hash,
                hash=revision.hash,
            )
        )

    # --- consent records

    def lock_record(self, agreement_id: str, individual: str) -> ConsentRecord | None:
        # lock the state row alone, then read the revision it points at: locking through the
        # join would drop a row a concurrent writer moved on (PostgreSQL re-checks the join
        # against the new row version and the old revision)
        key = (records.c.agreement_id == agreement_id, records.c.individual == individual)
        locked = self._c.execute(select(records.c.record_id).where(*key).with_for_update())
        if locked.first() is None:
            return None
        row = self._c.execute(_CURRENT.where(*key)).first()
        return _record(row) if row else None

    def append_record(self, record: ConsentRecord) -> bool:
        values = _record_values(record)
        state = {name: values[name] for name in _STATE_COLUMNS}
        if record.sequence == 1:
            key = {
                "agreement_id": record.agreement_id,
                "individual": record.individual,
                "record_id": record.record_id,
            }
            if not insert_new(self._c, records, {**key, **state}):
                return False
        else:
            changed = self._c.execute(
                update(records)
                .where(
                    records.c.agreement_id == record.agreement_id,
                    records.c.individual == record.individual,
                    records.c.record_id == record.record_id,
                    records.c.sequence == record.sequence - 1,
                )
                .values(state)
            )
            if changed.rowcount != 1:
                return False
        self._c.execute(insert(record_revisions).values(values))
        return True

    def get_record(self, record_id: str) -> ConsentRecord | None:
        row = self._c.execute(_CURRENT.where(records.c.record_id == record_id)).first()
        return _record(row) if row else None

    def current_state(self, record_id: str) -> StoredState | None:
        row = self._c.execute(select(records).where(records.c.record_id == record_id)).first()
        if row is None:
            return None
        return StoredState(
            row.record_id,
            row.agreement_id,
            row.individual,
            row.organisation,
            row.sequence,
            row.opt_in,
            row.agreement_revision,
            row.expires_at,
        )

    def records_of(self, organisation: str, individual: str) -> Sequence[ConsentRecord]:
        rows = self._c.execute(
            _CURRENT.where(
                records.c.organisation == organisation, records.c.individual == individual
            ).order_by(records.c.record_id)
        )
        return [_record(row) for row in rows]

    def list_records(
        self,
        organisation: str,
        *,
        agreement_id: str | None,
        opt_in: bool | None,
        after: str | None,
        limit: int,
    ) -> Sequence[ConsentRecord]:
        query = _CURRENT.where(records.c.organisation == organisation)
        if agreement_id is not None:
            query = query.where(records.c.agreement_id == agreement_id)
        if opt_in is not None:
            query = query.where(records.c.opt_in == opt_in)
        if after is not None:
            query = query.where(records.c.record_id > after)
        rows = self._c.execute(query.order_by(records.c.record_id).limit(limit))
        return [_record(row) for row in rows]

    def record_history(self, record_id: str) -> Sequence[ConsentRecord]:
        rows = self._c.execute(
            select(record_revisions)
            .where(record_revisions.c.record_id == record_id)
            .order_by(record_revisions.c.sequence)
        )
        return [_record(row) for row in rows]

    def record_ids(self, *, after: str | None, limit: int) -> Sequence[str]:
        query = select(records.c.record_id)
        if after is not None:
            query = query.where(records.c.record_id > after)
        return list(self._c.execute(query.order_by(records.c.record_id).limit(limit)).scalars())


class SqlConsentUnitOfWork:
    """One database transaction holding the consent store and the audit trail."""

    store: SqlConsentStore
    audit: SqlAuditTrail

    def __init__(self, db: Database) -> None:
        self._db = db

    def __enter__(self) -> SqlConsentUnitOfWork:
        self._transaction = self._db.transaction()
        connection = self._transaction.__enter__()
        self.store = SqlConsentStore(connection)
        self.audit = SqlAuditTrail(connection)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._transaction.__exit__(exc_type, exc, tb)


_CHECK_SQL = (
    "SELECT a.organisation, a.current_revision, r.record_id, r.sequence, r.opt_in,"
    " r.agreement_revision, r.expires_at"
    " FROM consent_agreements a LEFT JOIN consent_records r"
    " ON r.agreement_id = a.agreement_id AND r.individual = {p}"
    " WHERE a.agreement_id = {p}"
)


_BATCH_SQL = (
    "SELECT a.organisation, a.current_revision, r.individual, r.record_id, r.sequence, r.opt_in,"
    " r.agreement_revision, r.expires_at"
    " FROM consent_agreements a LEFT JOIN consent_records r"
    " ON r.agreement_id = a.agreement_id AND r.individual {members}"
    " WHERE a.agreement_id = {p}"
)


class SqlConsentReader:
    """The consent check's read path: one statement on committed data, straight on the driver.

    The check is the hot path of every personal-data exchange, so it skips what a unit of work
    costs. On PostgreSQL it keeps its own autocommit connections and reuses them without a
    pool's bookkeeping (no BEGIN, no COMMIT, no pre-ping, no reset: one round trip per check,
    and the driver prepares the statement after a few uses); a thread that finds no idle
    connection opens one, and at most ``idle`` are kept. On SQLite, whose connections run in
    autocommit, it borrows the database's. Call :meth:`close` when the platform stops.
    """

    def __init__(self, db: Database, *, idle: int = 8) -> None:
        self._postgres = db.dialect == "postgresql"
        self._max_idle = idle
        self._idle: list[PoolProxiedConnection] = []  # append and pop are atomic
        if self._postgres:
            self._engine: Engine = create_engine(
                db.engine.url, isolation_level="AUTOCOMMIT", poolclass=NullPool
            )
            self._sql = _CHECK_SQL.format(p="%s")
        else:
            self._engine = db.engine
            self._sql = _CHECK_SQL.format(p="?")

    def check_state(self, agreement_id: str, individual: str) -> CheckState | None:
        rows = self._fetch(self._sql, (individual, agreement_id))
        if not rows:
            return None
        organisation, current, record_id, sequence, opt_in, revision, expires_at = rows[0]
        state = None
        if record_id is not None:
            state = RecordState(record_id, sequence, bool(opt_in), revision, _utc(expires_at))
        return CheckState(organisation, current, state)

    def check_states(self, agreement_id: str, individuals: Sequence[str]) -> BatchCheckState | None:
        if self._postgres:
            sql = _BATCH_SQL.format(members="= ANY(%s)", p="%s")
            params: tuple[Any, ...] = (list(individuals), agreement_id)
        else:
            marks = ", ".join("?" * len(individuals))
            sql = _BATCH_SQL.format(members=f"IN ({marks})", p="?")
            params = (*individuals, agreement_id)
        rows = self._fetch(sql, params)
        if not rows:
            return None
        found = {
            individual: RecordState(record_id, sequence, bool(opt_in), revision, _utc(expires))
            for _, _, individual, record_id, sequence, opt_in, revision, expires in rows
            if record_id is not None
        }
        return BatchCheckState(rows[0][0], rows[0][1], found)

    def _fetch(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        if not self._postgres:
            connection = self._engine.raw_connection()
            try:
                return _run(connection, sql, params)
            finally:
                connection.close()
        try:
            connection = self._idle.pop()
        except IndexError:
            connection = self._engine.raw_connection()
        try:
            rows = _run(connection, sql, params)
        except BaseException:
            connection.invalidate()  # a broken connection is never reused
            raise
        if len(self._idle) < self._max_idle:
            self._idle.append(connection)
        else:
            connection.close()
        return rows

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()
        if self._postgres:
            self._engine.dispose()


def _run(connection: PoolProxiedConnection, sql: str, params: tuple[Any, ...]) -> list[Any]:
    cursor = connection.cursor()
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _utc(value: datetime | str | None) -> datetime | None:
    """A timestamp as the driver returns it (SQLite: naive text in UTC) as aware UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
