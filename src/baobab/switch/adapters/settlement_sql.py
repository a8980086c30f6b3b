"""The settlement store (SQLite and PostgreSQL): windows as time ranges over committed transfers,
and the net positions frozen when a window goes to settlement."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, func, insert, select, update

from baobab.infra.audit import SqlAuditTrail
from baobab.infra.database import Database
from baobab.kernel.audit import AuditEvent
from baobab.switch.adapters.tables import settlement_positions, transfers, windows
from baobab.switch.domain import NetPosition, SettlementWindow, TransferState, WindowState

BEGINNING = datetime(2000, 1, 1, tzinfo=UTC)  # the first window holds everything before it


class SqlSettlementStore:
    """Settlement windows over one :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def close_window(self, now: datetime, event: AuditEvent) -> SettlementWindow:
        with self._db.transaction() as connection:
            query = select(windows).where(windows.c.state == WindowState.OPEN.value)
            if connection.dialect.name == "postgresql":
                query = query.with_for_update()
            row = connection.execute(query).first()
            if row is None:
                opened = connection.execute(
                    insert(windows)
                    .values(state=WindowState.OPEN.value, opened_at=BEGINNING)
                    .returning(windows.c.window_id)
                ).scalar_one()
            else:
                opened = row.window_id
            connection.execute(
                update(windows)
                .where(windows.c.window_id == opened)
                .values(state=WindowState.CLOSED.value, closed_at=now)
            )
            connection.execute(insert(windows).values(state=WindowState.OPEN.value, opened_at=now))
            SqlAuditTrail(connection).append(
                AuditEvent(event.action, event.actor, str(opened), details=event.details), at=now
            )
            closed = connection.execute(select(windows).where(windows.c.window_id == opened)).one()
            return _window(closed)

    def windows(self, limit: int) -> Sequence[SettlementWindow]:
        with self._db.engine.connect() as connection:
            rows = connection.execute(
                select(windows).order_by(windows.c.window_id.desc()).limit(limit)
            ).all()
            return [_window(row) for row in rows]

    def get_window(self, window_id: int) -> SettlementWindow | None:
        with self._db.engine.connect() as connection:
            row = connection.execute(
                select(windows).where(windows.c.window_id == window_id)
            ).first()
            return None if row is None else _window(row)

    def net_positions(self, opened_at: datetime, closed_at: datetime) -> Sequence[NetPosition]:
        with self._db.engine.connect() as connection:
            totals: dict[tuple[str, str], list[int]] = {}
            for side, column in ((0, transfers.c.payer), (1, transfers.c.payee)):
                rows = connection.execute(
                    select(column, transfers.c.currency, func.sum(transfers.c.amount), func.count())
                    .where(
                        transfers.c.state == TransferState.COMMITTED.value,
                        transfers.c.completed_at >= opened_at,
                        transfers.c.completed_at < closed_at,
                    )
                    .group_by(column, transfers.c.currency)
                )
                for fsp_id, currency, amount, count in rows:
                    entry = totals.setdefault((fsp_id, currency), [0, 0, 0])
                    entry[side] += int(amount)
                    entry[2] += int(count)
            return [
                NetPosition(fsp, currency, sent, received, count)
                for (fsp, currency), (sent, received, count) in sorted(totals.items())
            ]

    def frozen_positions(self, window_id: int) -> Sequence[NetPosition]:
        with self._db.engine.connect() as connection:
            rows = connection.execute(
                select(settlement_positions)
                .where(settlement_positions.c.window_id == window_id)
                .order_by(settlement_positions.c.fsp_id, settlement_positions.c.currency)
            ).all()
            return [
                NetPosition(r.fsp_id, r.currency, r.sent, r.received, r.transfers) for r in rows
            ]

    def move_window(
        self,
        window_id: int,
        *,
        from_state: WindowState,
        to_state: WindowState,
        at: datetime,
        event: AuditEvent,
        positions: Sequence[NetPosition] = (),
    ) -> bool:
        with self._db.transaction() as connection:
            values: dict[str, Any] = {"state": to_state.value}
            if to_state is WindowState.SETTLED:
                values["settled_at"] = at
            moved = connection.execute(
                update(windows)
                .where(windows.c.window_id == window_id, windows.c.state == from_state.value)
                .values(**values)
                .returning(windows.c.window_id)
            ).first()
            if moved is None:
                return False
            if positions:
                connection.execute(
                    insert(settlement_positions),
                    [
                        {
                            "window_id": window_id,
                            "fsp_id": p.fsp_id,
                            "currency": p.currency,
                            "sent": p.sent,
                            "received": p.received,
                            "transfers": p.transfers,
                        }
                        for p in positions
                    ],
                )
            SqlAuditTrail(connection).append(event, at=at)
            return True


def _window(row: Row[Any]) -> SettlementWindow:
    return SettlementWindow(
        window_id=row.window_id,
        state=WindowState(row.state),
        opened_at=row.opened_at,
        closed_at=row.closed_at,
        settled_at=row.settled_at,
    )
