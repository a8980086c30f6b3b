"""Bulk transfers in SQL: the bulk with its items, and - when it completes - one row per
committed item in ``switch_transfers``, so settlement counts bulk payments like single ones."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, select, update

from baobab.infra.database import insert_new
from baobab.switch.adapters.sql import SqlSwitchStore
from baobab.switch.adapters.tables import bulk_transfers, transfers
from baobab.switch.domain import BulkItem, BulkState, Callback, HubBulk, TransferState


class SqlBulkStore:
    """Bulk transfers beside a :class:`SqlSwitchStore` (its database and its outbox)."""

    def __init__(self, store: SqlSwitchStore) -> None:
        self._store = store
        self._db = store.db

    def record_bulk(self, bulk: HubBulk, callbacks: Sequence[Callback]) -> HubBulk | None:
        """Insert a new bulk with its callbacks; the existing one instead if the id is taken."""
        with self._db.transaction() as connection:
            if not insert_new(connection, bulk_transfers, _row(bulk)):
                found = connection.execute(
                    select(bulk_transfers).where(bulk_transfers.c.bulk_id == bulk.bulk_id)
                ).one()
                return _bulk(found)
            queued = self._store.queue(connection, callbacks, bulk.created_at)
        self._store.hand_over(queued)
        return None

    def add_callbacks(self, callbacks: Sequence[Callback], *, at: datetime) -> None:
        self._store.add_callbacks(callbacks, at=at)

    def get_bulk(self, bulk_id: str) -> HubBulk | None:
        with self._db.engine.connect() as connection:
            row = connection.execute(
                select(bulk_transfers).where(bulk_transfers.c.bulk_id == bulk_id)
            ).first()
            return None if row is None else _bulk(row)

    def finish_bulk(
        self,
        bulk: HubBulk,
        *,
        state: BulkState,
        result: bytes,
        committed: Sequence[tuple[BulkItem, str]],
        at: datetime,
        callbacks: Sequence[Callback],
    ) -> bool:
        """Close an accepted bulk; record its committed items (with their fulfilments) as
        committed transfers; queue the callbacks. False if it was closed already."""
        with self._db.transaction() as connection:
            changed = connection.execute(
                update(bulk_transfers)
                .where(
                    bulk_transfers.c.bulk_id == bulk.bulk_id,
                    bulk_transfers.c.state == BulkState.ACCEPTED.value,
                )
                .values(state=state.value, result=result, completed_at=at)
                .returning(bulk_transfers.c.bulk_id)
            ).first()
            if changed is None:
                return False
            if committed:
                connection.execute(
                    insert(transfers),
                    [
                        {
                            "transfer_id": item.transfer_id,
                            "payer": bulk.payer,
                            "payee": bulk.payee,
                            "amount": item.amount,
                            "currency": item.currency,
                            "condition": item.condition,
                            "expiration": bulk.expiration,
                            "state": TransferState.COMMITTED.value,
                            "digest": bulk.digest,
                            "created_at": bulk.created_at,
                            "fulfilment": fulfilment,
                            "completed_at": at,
                            "error_code": None,
                            "payee_wants_patch": False,
                        }
                        for item, fulfilment in committed
                    ],
                )
            queued = self._store.queue(connection, callbacks, at)
        self._store.hand_over(queued)
        return True

    def open_bulks_expired(self, now: datetime, limit: int) -> Sequence[HubBulk]:
        with self._db.engine.connect() as connection:
            rows = connection.execute(
                select(bulk_transfers)
                .where(
                    bulk_transfers.c.state == BulkState.ACCEPTED.value,
                    bulk_transfers.c.expiration < now,
                )
                .order_by(bulk_transfers.c.expiration)
                .limit(limit)
            ).all()
            return [_bulk(row) for row in rows]


def _row(bulk: HubBulk) -> dict[str, Any]:
    return {
        "bulk_id": bulk.bulk_id,
        "payer": bulk.payer,
        "payee": bulk.payee,
        "digest": bulk.digest,
        "state": bulk.state.value,
        "expiration": bulk.expiration,
        "items": json.dumps(
            [[i.transfer_id, i.amount, i.currency, i.condition, i.error_code] for i in bulk.items]
        ),
        "created_at": bulk.created_at,
        "completed_at": bulk.completed_at,
        "result": bulk.result,
    }


def _bulk(row: Row[Any]) -> HubBulk:
    return HubBulk(
        bulk_id=row.bulk_id,
        payer=row.payer,
        payee=row.payee,
        digest=row.digest,
        state=BulkState(row.state),
        expiration=row.expiration,
        created_at=row.created_at,
        items=tuple(BulkItem(*item) for item in json.loads(row.items)),
        completed_at=row.completed_at,
        result=None if row.result is None else bytes(row.result),
    )
