"""Bulk transfers (``/bulkTransfers``): many transfers from one payer FSP to one payee FSP,
reserved individually, answered by the payee in one message, reported in one callback.

Each item is reserved in the ledger under its own ``transferId`` (an item beyond the Net Debit
Cap is refused on its own, 4001); if none could be reserved the bulk is rejected. The request is
forwarded to the payee FSP as it came. The payee's ``PUT /bulkTransfers/{ID}`` carries a result
per item: an item whose fulfilment matches its condition is committed, every other one voided.
The payer then gets one ``PUT /bulkTransfers/{ID}`` from the hub with every item's outcome
(fulfilment or error). ``PUT .../error`` from the payee voids all; the expiration voids what is
left (3303 to both). Committed items are recorded as committed transfers, so settlement counts
them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from baobab.kernel.clock import Clock
from baobab.ledger import NewTransfer, Outcome, TransferBatcher, TransferFlags, TransferResult
from baobab.switch.domain import (
    BulkItem,
    BulkState,
    Callback,
    EndpointType,
    HubBulk,
    Participant,
    account_ids,
    body_digest,
    post_id,
    void_id,
)
from baobab.switch.fspiop import ErrorCode, datetime_text, error_body, fulfils
from baobab.switch.messages import Messages
from baobab.switch.participants import ParticipantService
from baobab.switch.ports import BulkStore
from baobab.switch.validation import MAX_ITEMS, invalid, missing, parse_bulk, parse_error

_ACTOR = "switch"
_DONE = (TransferResult.OK, TransferResult.EXISTS)


class BulkTransferService:
    """``/bulkTransfers``."""

    def __init__(
        self,
        *,
        store: BulkStore,
        participants: ParticipantService,
        batcher: TransferBatcher,
        messages: Messages,
        clock: Clock,
        ledger_wait: float = 30.0,
    ) -> None:
        self._store = store
        self._participants = participants
        self._batcher = batcher
        self._messages = messages
        self._clock = clock
        self._wait = ledger_wait

    def _error(
        self, to: Participant, bulk_id: str, error: ErrorCode, now: datetime
    ) -> Callback | None:
        return self._messages.originate(
            to,
            EndpointType.BULK_TRANSFER_ERROR,
            method="PUT",
            resource="bulkTransfers",
            path=f"/bulkTransfers/{bulk_id}/error",
            payload=error_body(error),
            at=now,
            **_ids(bulk_id),
        )

    def _apply(self, events: list[NewTransfer]) -> list[TransferResult]:
        futures: list[Future[Outcome]] = [self._batcher.submit(e, actor=_ACTOR) for e in events]
        return [future.result(self._wait).result for future in futures]

    # --- POST /bulkTransfers ---------------------------------------------------------------

    def prepare(
        self,
        payer: Participant,
        *,
        message: dict[str, Any],
        headers: Mapping[str, str],
        body: bytes,
    ) -> None:
        """Reserve each item and forward the bulk, or reject it by callback to the payer."""
        bulk_id, payee_id, expiration, items = parse_bulk(message, payer.fsp_id)
        now = self._clock.now()
        payee = self._participants.find(payee_id)
        bulk = HubBulk(
            bulk_id,
            payer.fsp_id,
            payee_id,
            body_digest(body),
            BulkState.ACCEPTED,
            expiration,
            now,
            tuple(items),
        )
        refusal: ErrorCode | None = None
        currencies = {item.currency for item in items}
        if payee_id == payer.fsp_id:
            refusal = ErrorCode.VALIDATION_ERROR
        elif (
            payee is None
            or not payee.enabled
            or payee.endpoint(EndpointType.BULK_TRANSFER_POST) is None
        ):
            refusal = ErrorCode.PAYEE_FSP_NOT_FOUND
        elif not payer.enabled or not currencies <= payer.currencies:
            refusal = ErrorCode.PAYER_FSP_NOT_FOUND
        elif not currencies <= payee.currencies:
            refusal = ErrorCode.PAYEE_UNSUPPORTED_CURRENCY
        elif expiration <= now or expiration - now > timedelta(days=7):
            refusal = (
                ErrorCode.TRANSFER_EXPIRED if expiration <= now else ErrorCode.VALIDATION_ERROR
            )
        if refusal is None:
            assert payee is not None
            bulk = replace(bulk, items=tuple(self._reserve(payer, payee, items, expiration, now)))
            if all(item.error_code for item in bulk.items):
                refusal = ErrorCode.of(bulk.items[0].error_code or "4001")
        if refusal is None:
            assert payee is not None
            note = self._messages.forward(
                payee, EndpointType.BULK_TRANSFER_POST, method="POST", headers=headers, body=body
            )
        else:
            bulk = replace(
                bulk,
                state=BulkState.REJECTED,
                completed_at=now,
                result=json.dumps(error_body(refusal)).encode(),
            )
            note = self._error(payer, bulk_id, refusal, now)
        existing = self._store.record_bulk(bulk, [note] if note else [])
        if existing is not None:
            self._resent(payer, existing, bulk.digest, now)

    def _reserve(
        self,
        payer: Participant,
        payee: Participant,
        items: list[BulkItem],
        expiration: datetime,
        now: datetime,
    ) -> list[BulkItem]:
        seconds = max(1, math.ceil((expiration - now).total_seconds()))
        events = [
            NewTransfer(
                item.transfer_id,
                account_ids(payer.fsp_id, item.currency).position,
                account_ids(payee.fsp_id, item.currency).position,
                item.amount,
                item.currency,
                timeout=seconds,
                flags=TransferFlags.PENDING,
            )
            for item in items
        ]
        reserved = []
        for item, result in zip(items, self._apply(events), strict=True):
            if result in _DONE:
                reserved.append(item)
            elif result is TransferResult.EXCEEDS_CREDITS:
                reserved.append(
                    replace(item, error_code=ErrorCode.PAYER_INSUFFICIENT_LIQUIDITY.code)
                )
            elif result.value.startswith("exists_with_different"):
                reserved.append(replace(item, error_code=ErrorCode.MODIFIED_REQUEST.code))
            else:
                reserved.append(replace(item, error_code=ErrorCode.INTERNAL_SERVER_ERROR.code))
        return reserved

    def _resent(self, payer: Participant, existing: HubBulk, digest: str, now: datetime) -> None:
        if existing.payer != payer.fsp_id or existing.digest != digest:
            note = self._error(payer, existing.bulk_id, ErrorCode.MODIFIED_REQUEST, now)
        elif existing.final:
            note = self._final_note(payer, existing, now)
        else:
            return
        self._send(note, now)

    def _send(self, note: Callback | None, now: datetime) -> None:
        if note is not None:
            self._store.add_callbacks([note], at=now)

    def _final_note(self, to: Participant, bulk: HubBulk, now: datetime) -> Callback | None:
        assert bulk.result is not None
        payload = json.loads(bulk.result)
        error = "errorInformation" in payload
        return self._messages.originate(
            to,
            EndpointType.BULK_TRANSFER_ERROR if error else EndpointType.BULK_TRANSFER_PUT,
            method="PUT",
            resource="bulkTransfers",
            path=f"/bulkTransfers/{bulk.bulk_id}" + ("/error" if error else ""),
            payload=payload,
            at=now,
            **_ids(bulk.bulk_id),
        )

    def _own(
        self, source: Participant, bulk_id: str, now: datetime, *, payee_only: bool
    ) -> HubBulk | None:
        bulk = self._store.get_bulk(bulk_id)
        allowed = bulk is not None and (
            bulk.payee == source.fsp_id if payee_only else source.fsp_id in (bulk.payer, bulk.payee)
        )
        if not allowed:
            self._send(self._error(source, bulk_id, ErrorCode.BULK_TRANSFER_NOT_FOUND, now), now)
            return None
        return bulk

    # --- PUT /bulkTransfers/{ID} -----------------------------------------------------------

    def fulfil(self, payee: Participant, bulk_id: str, *, message: dict[str, Any]) -> None:
        """Commit each item whose fulfilment matches, void the rest, report all to the payer."""
        listed = message.get("individualTransferResults")
        if not isinstance(listed, list) or len(listed) > MAX_ITEMS:
            raise missing("individualTransferResults")
        answers: dict[str, dict[str, Any]] = {}
        for entry in listed:
            if not isinstance(entry, dict) or not isinstance(entry.get("transferId"), str):
                raise invalid("an individual transfer result needs its transferId")
            answers[entry["transferId"]] = entry
        now = self._clock.now()
        bulk = self._own(payee, bulk_id, now, payee_only=True)
        if bulk is None or bulk.final:
            return
        open_items = [item for item in bulk.items if item.error_code is None]
        events, fulfilments = [], {}
        for item in open_items:
            fulfilment = answers.get(item.transfer_id, {}).get("fulfilment")
            if isinstance(fulfilment, str) and fulfils(fulfilment, item.condition):
                fulfilments[item.transfer_id] = fulfilment
                events.append(
                    NewTransfer(
                        post_id(item.transfer_id),
                        pending_id=item.transfer_id,
                        flags=TransferFlags.POST_PENDING,
                        reference=fulfilment,
                    )
                )
            else:
                events.append(
                    NewTransfer(
                        void_id(item.transfer_id),
                        pending_id=item.transfer_id,
                        flags=TransferFlags.VOID_PENDING,
                    )
                )
        outcomes = dict(zip([i.transfer_id for i in open_items], self._apply(events), strict=True))
        results, committed = [], []
        for item in bulk.items:
            code = item.error_code
            result = outcomes.get(item.transfer_id)
            if code is None and item.transfer_id in fulfilments and result in _DONE:
                committed.append((item, fulfilments[item.transfer_id]))
                results.append(
                    {"transferId": item.transfer_id, "fulfilment": fulfilments[item.transfer_id]}
                )
                continue
            if code is None:
                if result is TransferResult.PENDING_TRANSFER_EXPIRED:
                    code = ErrorCode.TRANSFER_EXPIRED.code
                else:
                    code = _payee_code(answers.get(item.transfer_id))
            results.append({"transferId": item.transfer_id, **error_body(ErrorCode.of(code))})
        payload = {
            "bulkTransferState": BulkState.COMPLETED.value,
            "completedTimestamp": datetime_text(now),
            "individualTransferResults": results,
        }
        payer = self._participants.get(bulk.payer)
        done = replace(bulk, state=BulkState.COMPLETED, result=json.dumps(payload).encode())
        note = self._final_note(payer, done, now)
        self._store.finish_bulk(
            bulk,
            state=BulkState.COMPLETED,
            result=done.result or b"",
            committed=committed,
            at=now,
            callbacks=[note] if note else [],
        )

    # --- PUT /bulkTransfers/{ID}/error, expiry ---------------------------------------------

    def reject(
        self,
        payee: Participant,
        bulk_id: str,
        *,
        message: dict[str, Any],
        headers: Mapping[str, str],
        body: bytes,
    ) -> None:
        """The payee refuses the whole bulk: void every item, pass its error to the payer."""
        parse_error(message)
        now = self._clock.now()
        bulk = self._own(payee, bulk_id, now, payee_only=True)
        if bulk is None or bulk.final:
            return
        self._void_all(bulk)
        payer = self._participants.get(bulk.payer)
        note = self._messages.forward(
            payer,
            EndpointType.BULK_TRANSFER_ERROR,
            method="PUT",
            headers=headers,
            body=body,
            **_ids(bulk_id),
        )
        self._store.finish_bulk(
            bulk,
            state=BulkState.REJECTED,
            result=body,
            committed=[],
            at=now,
            callbacks=[note] if note else [],
        )

    def _void_all(self, bulk: HubBulk) -> None:
        events = [
            NewTransfer(
                void_id(item.transfer_id),
                pending_id=item.transfer_id,
                flags=TransferFlags.VOID_PENDING,
            )
            for item in bulk.items
            if item.error_code is None
        ]
        if events:
            self._apply(events)

    def sweep(self, *, grace: timedelta = timedelta(seconds=2), limit: int = 100) -> int:
        """Reject accepted bulks past their expiration: void their items (the ledger's timeout
        released them already, or the void does), 3303 to payer and payee."""
        now = self._clock.now()
        finished = 0
        for bulk in self._store.open_bulks_expired(now - grace, limit):
            self._void_all(bulk)
            result = json.dumps(error_body(ErrorCode.TRANSFER_EXPIRED)).encode()
            notes = []
            for fsp_id in (bulk.payer, bulk.payee):
                to = self._participants.find(fsp_id)
                if to is not None:
                    notes.append(self._error(to, bulk.bulk_id, ErrorCode.TRANSFER_EXPIRED, now))
            if self._store.finish_bulk(
                bulk,
                state=BulkState.REJECTED,
                result=result,
                committed=[],
                at=now,
                callbacks=[n for n in notes if n is not None],
            ):
                finished += 1
        return finished

    # --- GET /bulkTransfers/{ID} -----------------------------------------------------------

    def query(self, source: Participant, bulk_id: str) -> None:
        """Answer by callback: the final report, or ``ACCEPTED`` until the payee answered."""
        now = self._clock.now()
        bulk = self._own(source, bulk_id, now, payee_only=False)
        if bulk is None:
            return
        if bulk.final:
            self._send(self._final_note(source, bulk, now), now)
            return
        self._send(
            self._messages.originate(
                source,
                EndpointType.BULK_TRANSFER_PUT,
                method="PUT",
                resource="bulkTransfers",
                path=f"/bulkTransfers/{bulk_id}",
                payload={"bulkTransferState": bulk.state.value},
                at=now,
                **_ids(bulk_id),
            ),
            now,
        )


def _ids(bulk_id: str) -> dict[str, str]:
    """The endpoint placeholders of a bulk: ``{{id}}`` (Mojaloop's) or ``{{bulkTransferId}}``."""
    return {"id": bulk_id, "bulkTransferId": bulk_id}


def _payee_code(answer: dict[str, Any] | None) -> str:
    """The error an item gets when it was not committed: the payee's own, else 3100 (no or a
    wrong fulfilment)."""
    info = (answer or {}).get("errorInformation")
    code = info.get("errorCode") if isinstance(info, dict) else None
    if isinstance(code, str) and len(code) == 4 and code.isdigit() and code[0] in "12345":
        return code
    return ErrorCode.VALIDATION_ERROR.code
