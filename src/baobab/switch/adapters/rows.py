"""The switch store's rows: the statements of the FSPIOP hot path, built once, and the mapping
between rows and the domain's transfers, quotes and callbacks."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Executable, Row, Table, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from baobab.switch.adapters.tables import outbox, quotes, transfers
from baobab.switch.domain import Callback, HubQuote, HubTransfer, QuoteState, TransferState

OPEN = (TransferState.RECEIVED.value, TransferState.RESERVED.value)
# The statements of the FSPIOP hot path are built once, their values bound per call: SQLAlchemy
# then finds their compiled form without building and walking a new statement each time.
QUEUE = insert(outbox).returning(outbox.c.id, sort_by_parameter_order=True)


def _insert_new(table: Table) -> dict[str, Executable]:
    """``INSERT ... ON CONFLICT DO NOTHING RETURNING <key>`` of ``table``, by dialect name."""
    key = table.primary_key.columns
    return {
        "postgresql": postgresql.insert(table).on_conflict_do_nothing().returning(*key),
        "sqlite": sqlite.insert(table).on_conflict_do_nothing().returning(*key),
    }


NEW_TRANSFER = _insert_new(transfers)
NEW_QUOTE = _insert_new(quotes)
GET_TRANSFER = select(transfers).where(transfers.c.transfer_id == bindparam("transfer_id"))
GET_QUOTE = select(quotes).where(quotes.c.quote_id == bindparam("quote_id"))
FINISH_TRANSFER = (
    update(transfers)
    .where(transfers.c.transfer_id == bindparam("b_id"), transfers.c.state.in_(OPEN))
    .values(
        state=bindparam("b_state"),
        fulfilment=bindparam("b_fulfilment"),
        completed_at=bindparam("b_completed_at"),
        error_code=bindparam("b_error_code"),
    )
    .returning(transfers.c.transfer_id)
)
ANSWER_QUOTE = (
    update(quotes)
    .where(
        quotes.c.quote_id == bindparam("b_id"),
        quotes.c.payee == bindparam("b_payee"),
        quotes.c.state == QuoteState.RECEIVED.value,
    )
    .values(
        state=bindparam("b_state"),
        response=bindparam("b_response"),
        response_headers=bindparam("b_headers"),
    )
    .returning(quotes.c.payer)
)


def outbox_row(
    callback: Callback,
    *,
    due_at: datetime,
    attempts: int,
    failed: bool,
    error: str | None,
    at: datetime,
) -> dict[str, Any]:
    """An outbox row of a callback owed since ``at``."""
    return {
        "fsp_id": callback.fsp_id,
        "method": callback.method,
        "url": callback.url,
        "headers": json.dumps(callback.headers),
        "body": callback.body,
        "due_at": due_at,
        "attempts": attempts,
        "failed": failed,
        "last_error": None if error is None else error[:500],
        "created_at": at,
    }


def quote_of(row: Row[Any]) -> HubQuote:
    return HubQuote(
        quote_id=row.quote_id,
        payer=row.payer,
        payee=row.payee,
        digest=row.digest,
        state=QuoteState(row.state),
        expiration=row.expiration,
        created_at=row.created_at,
        response=None if row.response is None else bytes(row.response),
        response_headers=None if row.response_headers is None else json.loads(row.response_headers),
    )


def transfer_row(transfer: HubTransfer) -> dict[str, Any]:
    return {
        "transfer_id": transfer.transfer_id,
        "payer": transfer.payer,
        "payee": transfer.payee,
        "amount": transfer.amount,
        "currency": transfer.currency,
        "condition": transfer.condition,
        "expiration": transfer.expiration,
        "state": transfer.state.value,
        "digest": transfer.digest,
        "created_at": transfer.created_at,
        "fulfilment": transfer.fulfilment,
        "completed_at": transfer.completed_at,
        "error_code": transfer.error_code,
        "payee_wants_patch": transfer.payee_wants_patch,
    }


def transfer_of(row: Row[Any]) -> HubTransfer:
    return HubTransfer(
        transfer_id=row.transfer_id,
        payer=row.payer,
        payee=row.payee,
        amount=row.amount,
        currency=row.currency,
        condition=row.condition,
        expiration=row.expiration,
        state=TransferState(row.state),
        digest=row.digest,
        created_at=row.created_at,
        fulfilment=row.fulfilment,
        completed_at=row.completed_at,
        error_code=row.error_code,
        payee_wants_patch=bool(row.payee_wants_patch),
    )


def callback_of(row: Row[Any]) -> Callback:
    return Callback(row.fsp_id, row.method, row.url, json.loads(row.headers), bytes(row.body))
