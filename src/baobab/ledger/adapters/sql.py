"""The ledger's SQL store: SQLAlchemy Core, the same port on SQLite and PostgreSQL.

A batch costs a fixed handful of statements whatever its size: one ``SELECT ... FOR UPDATE`` of
the accounts it touches (in id order, so concurrent batches queue instead of deadlocking), one
bulk append of its transfers and one ``UPDATE ... FROM`` of the new totals. On PostgreSQL the
append is a ``COPY`` and the arrays travel as single parameters, because per-row statements would
make the round trips, not the ledger, the limit. SQLite takes its write lock when the unit of work
begins (``BEGIN IMMEDIATE``), so it needs no row locks.

Transfers are only ever inserted: history is immutable. Totals are ``BIGINT``; the engine keeps
every total within 64 bits and the ``CHECK`` constraints keep them from going negative.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    String,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError

from baobab.infra.audit import SqlAuditTrail
from baobab.infra.database import Database
from baobab.kernel.audit import AuditEvent
from baobab.ledger.adapters.tables import accounts, pending_timeouts, transfers
from baobab.ledger.domain import (
    RESOLVING_FLAGS,
    Account,
    AccountFlags,
    AccountKind,
    Transfer,
    TransferFlags,
    TrialBalance,
)
from baobab.ledger.engine import BatchOutcome
from baobab.ledger.errors import TransferResult
from baobab.ledger.ports import StoreContention

_TRANSFER_COLUMNS = (
    "id",
    "debit_account_id",
    "credit_account_id",
    "amount",
    "currency",
    "pending_id",
    "timeout",
    "reference",
    "flags",
    "result",
    "timestamp",
    "expires_at",
)
# PostgreSQL types of _TRANSFER_COLUMNS for the binary COPY, which skips text parsing.
_COPY_TYPES = [
    "text", "text", "text", "int8", "text", "text", "int4", "text", "int4", "text",
    "timestamptz", "timestamptz",
]  # fmt: skip
_COPY_SQL = (
    "COPY ledger_transfers (id, debit_account_id, credit_account_id, amount, currency,"
    " pending_id, timeout, reference, flags, result, timestamp, expires_at)"
    " FROM STDIN (FORMAT BINARY)"
)
_KINDS = {kind.value: kind for kind in AccountKind}
_ACCOUNT_FLAGS = {int(f): f for f in (AccountFlags(i) for i in range(4))}
_TRANSFER_FLAGS = {i: TransferFlags(i) for i in range(32)}
_RESULTS = {result.value: result for result in TransferResult}
_SQLITE_CHUNK = 500  # host parameters per IN (...) list, far below SQLite's limit


def _account(row: Row[Any]) -> Account:
    return Account(
        id=row.id,
        currency=row.currency,
        kind=_KINDS[row.kind],
        owner=row.owner,
        flags=_ACCOUNT_FLAGS[row.flags],
        created_at=row.created_at,
        debits_pending=row.debits_pending,
        debits_posted=row.debits_posted,
        credits_pending=row.credits_pending,
        credits_posted=row.credits_posted,
    )


def _transfer(row: Row[Any]) -> Transfer:
    return Transfer(
        id=row.id,
        debit_account_id=row.debit_account_id,
        credit_account_id=row.credit_account_id,
        amount=row.amount,
        currency=row.currency,
        pending_id=row.pending_id,
        timeout=row.timeout,
        reference=row.reference,
        flags=_TRANSFER_FLAGS[row.flags],
        result=_RESULTS[row.result],
        timestamp=row.timestamp,
        expires_at=row.expires_at,
        sequence=row.sequence,
    )


# Locks in id order, so that concurrent batches queue on their common accounts, never deadlock.
_LOCK_ACCOUNTS = (
    "SELECT id, currency, kind, owner, flags, created_at,"
    " debits_pending, debits_posted, credits_pending, credits_posted"
    " FROM ledger_accounts WHERE id = ANY(string_to_array(%s, ',')) ORDER BY id FOR UPDATE"
)
_FIND_TRANSFERS = (
    "SELECT id, debit_account_id, credit_account_id, amount, currency, pending_id, timeout,"
    " reference, flags, result, timestamp, expires_at, sequence"
    " FROM ledger_transfers WHERE id = ANY(string_to_array(%s, ','))"
)


def _account_from_tuple(row: tuple[Any, ...]) -> Account:
    return Account(
        row[0], row[1], _KINDS[row[2]], row[3], _ACCOUNT_FLAGS[row[4]], row[5].astimezone(UTC),
        row[6], row[7], row[8], row[9],
    )  # fmt: skip


def _transfer_from_tuple(row: tuple[Any, ...]) -> Transfer:
    expires_at = row[11]
    return Transfer(
        row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7],
        _TRANSFER_FLAGS[row[8]], _RESULTS[row[9]], row[10].astimezone(UTC),
        None if expires_at is None else expires_at.astimezone(UTC), row[12],
    )  # fmt: skip


def _row(t: Transfer) -> tuple[Any, ...]:
    return (
        t.id,
        t.debit_account_id,
        t.credit_account_id,
        t.amount,
        t.currency,
        t.pending_id,
        t.timeout,
        t.reference,
        int(t.flags),
        t.result.value,
        t.timestamp,
        t.expires_at,
    )


def _joined(ids: Iterable[str]) -> str:
    """Ids as one comma-separated parameter, split by ``string_to_array`` in the statement.

    Passing thousands of values as one string costs a ``join``; as an array parameter, the
    driver dumps element by element in Python, which measured ~30 ms per 15,000 values - more
    than PostgreSQL takes to use them. Valid ids never hold a comma; an id that does names
    nothing stored, so it is left out rather than split.
    """
    return ",".join([i for i in ids if "," not in i])


def _contention(exc: BaseException) -> bool:
    """True if the database refused because a concurrent writer won (retry), not a bug."""
    driver_error = exc.orig if isinstance(exc, DBAPIError) else exc
    state = getattr(driver_error, "sqlstate", None)
    if state is not None:
        # unique_violation, serialization_failure, deadlock_detected
        return state in ("23505", "40001", "40P01")
    return "UNIQUE constraint failed" in str(driver_error)


class SqlLedgerSession:
    """One unit of work over an open connection (a database transaction)."""

    def __init__(self, connection: Connection, dialect: str) -> None:
        self._c = connection
        self._postgres = dialect == "postgresql"

    # --- reads ---------------------------------------------------------------------------

    def _in(self, column: Any, values: Collection[str]) -> Iterator[Any]:
        """``column IN values`` as one array parameter (PostgreSQL) or chunks (SQLite)."""
        if self._postgres:
            yield column == bindparam("values", list(values), type_=ARRAY(String)).any_()
            return
        ordered = list(values)
        for start in range(0, len(ordered), _SQLITE_CHUNK):
            yield column.in_(ordered[start : start + _SQLITE_CHUNK])

    def _driver_rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Run ``sql`` on psycopg directly, with binary parameters and results.

        SQLAlchemy's row and array handling costs several times PostgreSQL's own work on the
        thousands of rows a batch reads, so the hot reads skip it (same transaction).
        """
        raw = self._c.connection.driver_connection
        assert raw is not None
        with raw.cursor(binary=True) as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def lock_accounts(self, ids: Collection[str]) -> dict[str, Account]:
        if not ids:
            return {}
        if self._postgres:
            rows = self._driver_rows(_LOCK_ACCOUNTS, (_joined(ids),))
            return {row[0]: _account_from_tuple(row) for row in rows}
        found: dict[str, Account] = {}
        for where in self._in(accounts.c.id, sorted(ids)):
            query = select(accounts).where(where).order_by(accounts.c.id)
            if self._postgres:
                query = query.with_for_update()
            for row in self._c.execute(query):
                found[row.id] = _account(row)
        return found

    def find_accounts(self, ids: Collection[str]) -> dict[str, Account]:
        if not ids:
            return {}
        found: dict[str, Account] = {}
        for where in self._in(accounts.c.id, ids):
            for row in self._c.execute(select(accounts).where(where)):
                found[row.id] = _account(row)
        return found

    def find_transfers(self, ids: Collection[str]) -> dict[str, Transfer]:
        if not ids:
            return {}
        if self._postgres:
            rows = self._driver_rows(_FIND_TRANSFERS, (_joined(ids),))
            return {row[0]: _transfer_from_tuple(row) for row in rows}
        found: dict[str, Transfer] = {}
        for where in self._in(transfers.c.id, ids):
            for row in self._c.execute(select(transfers).where(where)):
                found[row.id] = _transfer(row)
        return found

    def find_settled(self, pending_ids: Collection[str]) -> dict[str, int]:
        if not pending_ids:
            return {}
        settled: dict[str, int] = {}
        if self._postgres:
            rows = self._driver_rows(
                "SELECT pending_id, flags FROM ledger_transfers"
                " WHERE pending_id = ANY(string_to_array(%s, ',')) AND result = 'ok'",
                (_joined(pending_ids),),
            )
            return {pending_id: flags & RESOLVING_FLAGS for pending_id, flags in rows}
        for where in self._in(transfers.c.pending_id, pending_ids):
            query = select(transfers.c.pending_id, transfers.c.flags).where(
                where, transfers.c.result == TransferResult.OK.value
            )
            for pending_id, flags in self._c.execute(query):
                settled[pending_id] = flags & RESOLVING_FLAGS
        return settled

    def due_pending(self, now: datetime, limit: int) -> list[Transfer]:
        query = (
            select(transfers)
            .join(pending_timeouts, pending_timeouts.c.transfer_id == transfers.c.id)
            .where(pending_timeouts.c.expires_at <= now)
            .order_by(pending_timeouts.c.expires_at, pending_timeouts.c.transfer_id)
            .limit(limit)
        )
        return [_transfer(row) for row in self._c.execute(query)]

    def history(self, account_id: str, *, after: int, limit: int) -> list[Transfer]:
        # Two range scans, one per history index, each stopping after ``limit`` rows, merged:
        # a page costs the same on an account with ten transfers or ten million. (An OR would
        # read every transfer of the account to sort them.) A transfer never has the same
        # account on both sides, so the branches never overlap.
        def side(column: Any) -> Any:
            return (
                select(transfers)
                .where(
                    column == account_id,
                    transfers.c.result == TransferResult.OK.value,
                    transfers.c.sequence > after,
                )
                .order_by(transfers.c.sequence)
                .limit(limit)
                .subquery()
            )

        debits, credits = side(transfers.c.debit_account_id), side(transfers.c.credit_account_id)
        both = union_all(select(debits), select(credits)).subquery()
        query = select(both).order_by(both.c.sequence).limit(limit)
        return [_transfer(row) for row in self._c.execute(query)]

    def trial_balance(self) -> list[TrialBalance]:
        a = accounts.c
        over = or_(
            and_(
                a.flags.op("&")(int(AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)) != 0,
                a.debits_pending + a.debits_posted > a.credits_posted,
            ),
            and_(
                a.flags.op("&")(int(AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS)) != 0,
                a.credits_pending + a.credits_posted > a.debits_posted,
            ),
        )
        query = (
            select(
                a.currency,
                func.count(),
                func.sum(a.debits_pending),
                func.sum(a.debits_posted),
                func.sum(a.credits_pending),
                func.sum(a.credits_posted),
                func.sum(case((over, 1), else_=0)),
            )
            .group_by(a.currency)
            .order_by(a.currency)
        )
        return [
            TrialBalance(row[0], *(int(value) for value in row[1:]))
            for row in self._c.execute(query)
        ]

    # --- writes --------------------------------------------------------------------------

    def audit(self, event: AuditEvent, *, at: datetime) -> None:
        SqlAuditTrail(self._c).append(event, at=at)

    def insert_accounts(self, new: Sequence[Account]) -> None:
        rows = [
            {
                "id": a.id,
                "currency": a.currency,
                "kind": a.kind.value,
                "owner": a.owner,
                "flags": int(a.flags),
                "debits_pending": a.debits_pending,
                "debits_posted": a.debits_posted,
                "credits_pending": a.credits_pending,
                "credits_posted": a.credits_posted,
                "created_at": a.created_at,
            }
            for a in new
        ]
        try:
            self._c.execute(insert(accounts), rows)
        except DBAPIError as exc:
            if _contention(exc):
                raise StoreContention("an account id was taken meanwhile") from exc
            raise

    def write(self, outcome: BatchOutcome) -> None:
        try:
            if outcome.touched:
                self._store_totals(outcome.touched.values())
            if outcome.timeouts_added:
                self._c.execute(
                    insert(pending_timeouts),
                    [
                        {"transfer_id": t.id, "expires_at": t.expires_at}
                        for t in outcome.timeouts_added
                    ],
                )
            if outcome.timeouts_removed:
                for where in self._in(pending_timeouts.c.transfer_id, outcome.timeouts_removed):
                    self._c.execute(delete(pending_timeouts).where(where))
        except DBAPIError as exc:
            if _contention(exc):
                raise StoreContention("a transfer id was stored meanwhile") from exc
            raise

    @contextmanager
    def appender(self) -> Iterator[Callable[[Transfer], None]]:
        if not self._postgres:
            pending: list[Transfer] = []
            yield pending.append
            if pending:
                rows = [dict(zip(_TRANSFER_COLUMNS, _row(t), strict=True)) for t in pending]
                try:
                    self._c.execute(insert(transfers), rows)
                except DBAPIError as exc:
                    if _contention(exc):
                        raise StoreContention("a transfer id was stored meanwhile") from exc
                    raise
            return
        with _CopyStream(self._c) as stream:
            yield stream.append

    def _store_totals(self, touched: Iterable[Account]) -> None:
        changed = list(touched)
        if self._postgres:
            self._driver_rows(
                "UPDATE ledger_accounts AS a SET debits_pending = v.dp, debits_posted = v.dpo,"
                " credits_pending = v.cp, credits_posted = v.cpo"
                " FROM unnest(string_to_array(%s, ','), string_to_array(%s, ',')::int8[],"
                " string_to_array(%s, ',')::int8[], string_to_array(%s, ',')::int8[],"
                " string_to_array(%s, ',')::int8[]) AS v(id, dp, dpo, cp, cpo) WHERE a.id = v.id",
                (
                    _joined(a.id for a in changed),
                    ",".join([str(a.debits_pending) for a in changed]),
                    ",".join([str(a.debits_posted) for a in changed]),
                    ",".join([str(a.credits_pending) for a in changed]),
                    ",".join([str(a.credits_posted) for a in changed]),
                ),
            )
            return
        self._c.execute(
            update(accounts)
            .where(accounts.c.id == bindparam("key"))
            .values(
                debits_pending=bindparam("dp"),
                debits_posted=bindparam("dpo"),
                credits_pending=bindparam("cp"),
                credits_posted=bindparam("cpo"),
            ),
            [
                {
                    "key": a.id,
                    "dp": a.debits_pending,
                    "dpo": a.debits_posted,
                    "cp": a.credits_pending,
                    "cpo": a.credits_posted,
                }
                for a in changed
            ],
        )


class _CopyStream:
    """A binary ``COPY`` into ``ledger_transfers``, opened on the first row.

    The driver sends rows as its buffer fills, so PostgreSQL stores and indexes the first
    transfers of a batch while Python is still deciding the rest. COPY runs on the driver's own
    connection (the same transaction), below SQLAlchemy's error translation, so its errors are
    translated here.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._stack = ExitStack()
        self._copy: Any = None

    def __enter__(self) -> _CopyStream:
        return self

    def append(self, transfer: Transfer) -> None:
        copy = self._copy
        if copy is None:
            raw = self._connection.connection.driver_connection
            assert raw is not None
            cursor = self._stack.enter_context(raw.cursor())
            copy = self._copy = self._stack.enter_context(cursor.copy(_COPY_SQL))
            copy.set_types(_COPY_TYPES)
        try:
            copy.write_row(_row(transfer))
        except Exception as exc:
            raise _translated(exc) from exc

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            # The body failed: abort the COPY. Whatever the abort raises is a consequence; the
            # body's error is the one to report, and the transaction rolls back either way.
            with suppress(Exception):
                self._stack.__exit__(exc_type, exc, tb)
            return
        try:
            self._stack.__exit__(None, None, None)
        except Exception as error:
            raise _translated(error) from error


def _translated(error: Exception) -> Exception:
    if _contention(error):
        return StoreContention("a transfer id was stored meanwhile")
    return error


class SqlLedgerStore:
    """Opens units of work on a :class:`~baobab.infra.database.Database`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @contextmanager
    def unit(self) -> Iterator[SqlLedgerSession]:
        with self._db.transaction() as connection:
            yield SqlLedgerSession(connection, self._db.dialect)
