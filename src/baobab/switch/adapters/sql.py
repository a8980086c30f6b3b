"""The switch's SQL store (SQLite and PostgreSQL): participants, transfers, the outbox.

A transfer's state change and the callbacks it owes are written in one transaction, so a crash
can lose neither. Claiming outbox rows takes ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several
hub processes deliver side by side without sending a callback twice at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, update

from baobab.infra.audit import SqlAuditTrail
from baobab.infra.database import Database, insert_new
from baobab.kernel.audit import AuditEvent
from baobab.switch.adapters.rows import (
    ANSWER_QUOTE,
    FINISH_TRANSFER,
    GET_QUOTE,
    GET_TRANSFER,
    NEW_QUOTE,
    NEW_TRANSFER,
    OPEN,
    QUEUE,
    callback_of,
    outbox_row,
    quote_of,
    transfer_of,
    transfer_row,
)
from baobab.switch.adapters.tables import (
    currencies,
    endpoints,
    outbox,
    participants,
    transfers,
)
from baobab.switch.domain import (
    Callback,
    HubQuote,
    HubTransfer,
    Participant,
    QuoteState,
    TransferState,
)
from baobab.switch.ports import PendingCallback


class SqlSwitchStore:
    """The switch's tables over one :class:`Database`.

    Callbacks written while a listener is set (the outbox worker of this process) are handed
    to it once their transaction committed, and leased for ``lease`` in the table meanwhile, so
    the worker sends them at once without claiming them; should this process die, any worker
    claims them when the lease runs out.
    """

    def __init__(self, db: Database, *, lease: timedelta = timedelta(seconds=30)) -> None:
        self._db = db
        self._lease = lease
        self._listener: Callable[[Sequence[PendingCallback]], None] | None = None

    @property
    def db(self) -> Database:
        """The database, for stores that share this one's outbox (bulk transfers)."""
        return self._db

    def listen(self, listener: Callable[[Sequence[PendingCallback]], None]) -> None:
        """Hand callbacks to ``listener`` as they are committed."""
        self._listener = listener

    def queue(
        self, connection: Connection, callbacks: Sequence[Callback], at: datetime
    ) -> list[PendingCallback]:
        if not callbacks:
            return []
        due = at + self._lease if self._listener is not None else at
        rows = [
            outbox_row(callback, due_at=due, attempts=0, failed=False, error=None, at=at)
            for callback in callbacks
        ]
        ids = connection.execute(QUEUE, rows).scalars().all()
        return [PendingCallback(i, c, 0) for i, c in zip(ids, callbacks, strict=True)]

    def hand_over(self, queued: list[PendingCallback]) -> None:
        """Give callbacks just committed to the listener."""
        if queued and self._listener is not None:
            self._listener(queued)

    # --- participants ----------------------------------------------------------------------

    def add_participant(self, participant: Participant, event: AuditEvent) -> bool:
        with self._db.transaction() as connection:
            if connection.execute(
                select(participants.c.fsp_id).where(participants.c.member == participant.member)
            ).first():
                return False
            added = insert_new(
                connection,
                participants,
                {
                    "fsp_id": participant.fsp_id,
                    "member": participant.member,
                    "enabled": participant.enabled,
                    "created_at": participant.created_at,
                },
            )
            if added:
                SqlAuditTrail(connection).append(event, at=participant.created_at)
            return added

    def get_participant(self, fsp_id: str) -> Participant | None:
        with self._db.engine.connect() as connection:
            row = connection.execute(
                select(participants).where(participants.c.fsp_id == fsp_id)
            ).first()
            if row is None:
                return None
            return _participant(connection, row)

    def list_participants(self) -> Sequence[Participant]:
        with self._db.engine.connect() as connection:
            rows = connection.execute(select(participants).order_by(participants.c.fsp_id))
            return [_participant(connection, row) for row in rows.all()]

    def add_currency(self, fsp_id: str, currency: str, event: AuditEvent, at: datetime) -> bool:
        with self._db.transaction() as connection:
            added = insert_new(connection, currencies, {"fsp_id": fsp_id, "currency": currency})
            if added:
                SqlAuditTrail(connection).append(event, at=at)
            return added

    def set_endpoint(
        self, fsp_id: str, kind: str, value: str, event: AuditEvent, at: datetime
    ) -> None:
        with self._db.transaction() as connection:
            connection.execute(
                delete(endpoints).where(endpoints.c.fsp_id == fsp_id, endpoints.c.type == kind)
            )
            connection.execute(insert(endpoints).values(fsp_id=fsp_id, type=kind, value=value))
            SqlAuditTrail(connection).append(event, at=at)

    def set_enabled(self, fsp_id: str, enabled: bool, event: AuditEvent, at: datetime) -> None:
        with self._db.transaction() as connection:
            connection.execute(
                update(participants).where(participants.c.fsp_id == fsp_id).values(enabled=enabled)
            )
            SqlAuditTrail(connection).append(event, at=at)

    # --- transfers -------------------------------------------------------------------------

    def record_transfer(
        self, transfer: HubTransfer, callbacks: Sequence[Callback], *, at: datetime
    ) -> HubTransfer | None:
        with self._db.transaction() as connection:
            statement = NEW_TRANSFER[connection.dialect.name]
            if connection.execute(statement, transfer_row(transfer)).first() is None:
                row = connection.execute(GET_TRANSFER, {"transfer_id": transfer.transfer_id}).one()
                return transfer_of(row)
            queued = self.queue(connection, callbacks, at)
        self.hand_over(queued)
        return None

    def get_transfer(self, transfer_id: str) -> HubTransfer | None:
        with self._db.engine.connect() as connection:
            row = connection.execute(GET_TRANSFER, {"transfer_id": transfer_id}).first()
            return None if row is None else transfer_of(row)

    def finish_transfer(
        self,
        transfer_id: str,
        *,
        state: TransferState,
        fulfilment: str | None,
        completed_at: datetime,
        error_code: str | None,
        callbacks: Sequence[Callback],
    ) -> bool:
        with self._db.transaction() as connection:
            changed = connection.execute(
                FINISH_TRANSFER,
                {
                    "b_id": transfer_id,
                    "b_state": state.value,
                    "b_fulfilment": fulfilment,
                    "b_completed_at": completed_at,
                    "b_error_code": error_code,
                },
            ).first()
            if changed is None:
                return False
            queued = self.queue(connection, callbacks, completed_at)
        self.hand_over(queued)
        return True

    def open_transfers_expired(self, now: datetime, limit: int) -> Sequence[HubTransfer]:
        with self._db.engine.connect() as connection:
            rows = connection.execute(
                select(transfers)
                .where(transfers.c.state.in_(OPEN), transfers.c.expiration < now)
                .order_by(transfers.c.expiration)
                .limit(limit)
            )
            return [transfer_of(row) for row in rows.all()]

    # --- outbox ----------------------------------------------------------------------------

    def add_callbacks(self, callbacks: Sequence[Callback], *, at: datetime) -> None:
        if callbacks:
            with self._db.transaction() as connection:
                queued = self.queue(connection, callbacks, at)
            self.hand_over(queued)

    def claim_callbacks(
        self, now: datetime, *, lease_until: datetime, limit: int
    ) -> Sequence[PendingCallback]:
        with self._db.transaction() as connection:
            query = (
                select(outbox)
                .where(outbox.c.failed.is_(False), outbox.c.due_at <= now)
                .order_by(outbox.c.due_at, outbox.c.id)
                .limit(limit)
            )
            if connection.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = connection.execute(query).all()
            if not rows:
                return []
            connection.execute(
                update(outbox)
                .where(outbox.c.id.in_([row.id for row in rows]))
                .values(due_at=lease_until)
            )
            return [PendingCallback(row.id, callback_of(row), row.attempts) for row in rows]

    def callbacks_done(
        self,
        delivered: Sequence[int],
        retries: Mapping[int, tuple[datetime, str]],
        failed: Mapping[int, str],
    ) -> None:
        with self._db.transaction() as connection:
            if delivered:
                connection.execute(delete(outbox).where(outbox.c.id.in_(list(delivered))))
            for row_id, (due_at, error) in retries.items():
                connection.execute(
                    update(outbox)
                    .where(outbox.c.id == row_id)
                    .values(due_at=due_at, attempts=outbox.c.attempts + 1, last_error=error[:500])
                )
            for row_id, error in failed.items():
                connection.execute(
                    update(outbox)
                    .where(outbox.c.id == row_id)
                    .values(failed=True, attempts=outbox.c.attempts + 1, last_error=error[:500])
                )

    def keep_callbacks(
        self,
        retries: Sequence[tuple[Callback, datetime, str]],
        failed: Sequence[tuple[Callback, str]],
        *,
        at: datetime,
    ) -> None:
        rows = [
            outbox_row(callback, due_at=due_at, attempts=1, failed=False, error=error, at=at)
            for callback, due_at, error in retries
        ]
        for callback, error in failed:
            rows.append(
                outbox_row(callback, due_at=at, attempts=1, failed=True, error=error, at=at)
            )
        if rows:
            with self._db.transaction() as connection:
                connection.execute(insert(outbox), rows)

    def failed_callbacks(self, limit: int) -> Sequence[tuple[PendingCallback, str]]:
        with self._db.engine.connect() as connection:
            rows = connection.execute(
                select(outbox).where(outbox.c.failed.is_(True)).order_by(outbox.c.id).limit(limit)
            ).all()
            return [
                (PendingCallback(row.id, callback_of(row), row.attempts), row.last_error or "")
                for row in rows
            ]

    # --- quotes ----------------------------------------------------------------------------

    def record_quote(self, quote: HubQuote) -> HubQuote | None:
        with self._db.transaction() as connection:
            row = {
                "quote_id": quote.quote_id,
                "payer": quote.payer,
                "payee": quote.payee,
                "digest": quote.digest,
                "state": quote.state.value,
                "expiration": quote.expiration,
                "response": quote.response,
                "response_headers": None,
                "created_at": quote.created_at,
            }
            if connection.execute(NEW_QUOTE[connection.dialect.name], row).first() is None:
                found = connection.execute(GET_QUOTE, {"quote_id": quote.quote_id}).one()
                return quote_of(found)
        return None

    def get_quote(self, quote_id: str) -> HubQuote | None:
        with self._db.engine.connect() as connection:
            row = connection.execute(GET_QUOTE, {"quote_id": quote_id}).first()
            return None if row is None else quote_of(row)

    def answer_quote(
        self,
        quote_id: str,
        *,
        payee: str,
        state: QuoteState,
        response: bytes,
        headers: Mapping[str, str],
    ) -> str | None:
        with self._db.transaction() as connection:
            payer: str | None = connection.execute(
                ANSWER_QUOTE,
                {
                    "b_id": quote_id,
                    "b_payee": payee,
                    "b_state": state.value,
                    "b_response": response,
                    "b_headers": json.dumps(dict(headers)),
                },
            ).scalar()
            return payer


def _participant(connection: Connection, row: Row[Any]) -> Participant:
    held = connection.execute(
        select(currencies.c.currency).where(currencies.c.fsp_id == row.fsp_id)
    ).scalars()
    urls = connection.execute(
        select(endpoints.c.type, endpoints.c.value).where(endpoints.c.fsp_id == row.fsp_id)
    ).all()
    return Participant(
        fsp_id=row.fsp_id,
        member=row.member,
        enabled=bool(row.enabled),
        created_at=row.created_at,
        currencies=frozenset(held),
        endpoints={str(kind): str(value) for kind, value in urls},
    )
