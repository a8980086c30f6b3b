"""The transfer use cases: prepare (reserve), fulfil (commit), reject (abort), query, expire.

Money moves only in the ledger, under the FSPIOP transfer id: a pending transfer from the
payer's position to the payee's reserves within the Net Debit Cap and lapses at the transfer's
expiration; the post (``<id>:commit``, carrying the fulfilment as its reference) commits it; the
void (``<id>:abort``) releases it. The ledger is idempotent by id, so every step can be re-driven.

The hub's record of a transfer and the callbacks it owes are written in one transaction after
the ledger answered; only then does the caller get its ``202``/``200``. A crash before that loses
nothing acknowledged: the FSP resends (the ledger answers ``exists``) or the reservation lapses.
A crash after the ledger committed but before the record changed is repaired by :meth:`sweep`,
which finishes open transfers past their expiration from what the ledger says.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from baobab.kernel.clock import Clock
from baobab.ledger import LedgerService, NewTransfer, TransferBatcher, TransferFlags, TransferResult
from baobab.switch.domain import (
    EndpointType,
    HubTransfer,
    Participant,
    TransferState,
    account_ids,
    body_digest,
    post_id,
    void_id,
)
from baobab.switch.fspiop import ErrorCode, FspiopError, fulfils
from baobab.switch.messages import Messages
from baobab.switch.participants import ParticipantService
from baobab.switch.ports import SwitchStore
from baobab.switch.transfer_endings import ACTOR, DONE, GONE, TransferEndings, some
from baobab.switch.validation import (
    Prepare,
    parse_error,
    parse_fulfil,
    parse_prepare,
    prepare_refusal,
)

_log = logging.getLogger(__name__)
_REMEMBERED = 50_000  # transfers reserved by this process kept in memory for their fulfilment


class TransferService:
    """FSPIOP ``/transfers``."""

    def __init__(
        self,
        *,
        store: SwitchStore,
        participants: ParticipantService,
        ledger: LedgerService,
        batcher: TransferBatcher,
        messages: Messages,
        clock: Clock,
        ledger_wait: float = 30.0,
    ) -> None:
        self._store = store
        self._participants = participants
        self._ledger = ledger
        self._batcher = batcher
        self._messages = messages
        self._clock = clock
        self._wait = ledger_wait
        self._reserved: dict[str, HubTransfer] = {}
        self._endings = TransferEndings(
            store=store,
            participants=participants,
            ledger=ledger,
            batcher=batcher,
            messages=messages,
            clock=clock,
            ledger_wait=ledger_wait,
        )

    # --- POST /transfers -------------------------------------------------------------------

    def prepare(
        self,
        payer: Participant,
        *,
        message: dict[str, object],
        headers: Mapping[str, str],
        body: bytes,
    ) -> None:
        """Reserve and forward a transfer, or abort it with an error callback to the payer.
        Raises :class:`FspiopError` only for a request that is not a transfer at all."""
        request = parse_prepare(message)
        if request.payer != payer.fsp_id:
            raise FspiopError(ErrorCode.VALIDATION_ERROR, "payerFsp must be the FSPIOP-Source")
        now = self._clock.now()
        record = HubTransfer(
            transfer_id=request.transfer_id,
            payer=request.payer,
            payee=request.payee,
            amount=request.amount.minor,
            currency=request.amount.currency,
            condition=request.condition,
            expiration=request.expiration,
            state=TransferState.RESERVED,
            digest=body_digest(body),
            created_at=now,
        )
        payee = self._participants.find(request.payee)
        refusal = prepare_refusal(payer, payee, request, now)
        if refusal is None:
            assert payee is not None
            refusal = self._reserve(payer, payee, request, now)
        if refusal is None:
            assert payee is not None
            forward = self._messages.forward(
                payee, EndpointType.TRANSFER_POST, method="POST", headers=headers, body=body
            )
            existing = self._store.record_transfer(record, some(forward), at=now)
            if existing is None:
                self._remember(record)
        else:
            error, description = refusal
            record = replace(
                record, state=TransferState.ABORTED, completed_at=now, error_code=error.code
            )
            note = self._messages.transfer_error(payer, record.transfer_id, error, description, now)
            existing = self._store.record_transfer(record, some(note), at=now)
        if existing is not None:
            self._resent(payer, existing, record.digest, now)

    def _remember(self, transfer: HubTransfer) -> None:
        """Keep a transfer this process reserved, so the payee's answer (usually within
        seconds, usually to this process) needs no read; the record in the table decides."""
        if len(self._reserved) >= _REMEMBERED:
            with contextlib.suppress(StopIteration, KeyError, RuntimeError):
                self._reserved.pop(next(iter(self._reserved)))
        self._reserved[transfer.transfer_id] = transfer

    def _reserve(
        self, payer: Participant, payee: Participant, request: Prepare, now: datetime
    ) -> tuple[ErrorCode, str] | None:
        seconds = max(1, math.ceil((request.expiration - now).total_seconds()))
        event = NewTransfer(
            request.transfer_id,
            account_ids(payer.fsp_id, request.amount.currency).position,
            account_ids(payee.fsp_id, request.amount.currency).position,
            request.amount.minor,
            request.amount.currency,
            timeout=seconds,
            flags=TransferFlags.PENDING,
        )
        result = self._batcher.create_transfer(event, actor=ACTOR, timeout=self._wait).result
        if result in DONE:
            return None
        if result is TransferResult.EXCEEDS_CREDITS:
            return (
                ErrorCode.PAYER_INSUFFICIENT_LIQUIDITY,
                "the payer FSP's Net Debit Cap is reached",
            )
        if result.value.startswith("exists_with_different"):
            return ErrorCode.MODIFIED_REQUEST, "the transferId was used for another transfer"
        _log.warning("ledger refused transfer %s: %s", request.transfer_id, result.value)
        return (
            ErrorCode.INTERNAL_SERVER_ERROR,
            f"the ledger refused the reservation ({result.value})",
        )

    def _resent(
        self, source: Participant, existing: HubTransfer, digest: str, now: datetime
    ) -> None:
        """A prepare for an id the hub knows: 3106 if modified, the final state again if done."""
        if existing.payer != source.fsp_id or existing.digest != digest:
            note = self._messages.transfer_error(
                source, existing.transfer_id, ErrorCode.MODIFIED_REQUEST, None, now
            )
            self._store.add_callbacks(some(note), at=now)
        elif existing.final:
            self._store.add_callbacks(
                some(self._messages.transfer_final(source, existing, now)), at=now
            )

    # --- PUT /transfers/{ID} ---------------------------------------------------------------

    def fulfil(
        self,
        payee: Participant,
        transfer_id: str,
        *,
        message: dict[str, object],
        headers: Mapping[str, str],
        body: bytes,
    ) -> None:
        """Commit on a matching fulfilment from the payee; abort on a wrong one."""
        answer = parse_fulfil(message)
        now = self._clock.now()
        transfer = self._reserved.pop(transfer_id, None)
        if transfer is None or transfer.payee != payee.fsp_id:
            transfer = self._own(payee, transfer_id, now, role="payee")
            if transfer is None:
                return
        reserved = answer.state is TransferState.RESERVED
        if transfer.final:
            self._endings.late(payee, transfer, answer.fulfilment, now, reserved=reserved)
            return
        payer = self._participants.get(transfer.payer)
        if not fulfils(answer.fulfilment, transfer.condition):
            if not self._endings.abort(
                transfer,
                ErrorCode.VALIDATION_ERROR,
                "the fulfilment does not match the condition",
                now,
                notify_payee=True,
                payee_reserved=reserved,
            ):
                self._endings.late_from_store(
                    payee, transfer_id, answer.fulfilment, now, reserved=reserved
                )
            return
        post = NewTransfer(
            post_id(transfer_id),
            pending_id=transfer_id,
            flags=TransferFlags.POST_PENDING,
            reference=answer.fulfilment,
        )
        result = self._batcher.create_transfer(post, actor=ACTOR, timeout=self._wait).result
        if result in DONE:
            done = replace(
                transfer,
                state=TransferState.COMMITTED,
                fulfilment=answer.fulfilment,
                completed_at=now,
            )
            if reserved:
                # A payee asking for a commit notification (FSPIOP v1.1): the payer learns the
                # outcome, COMMITTED, from the hub; the payee gets the PATCH.
                notes = [
                    self._messages.transfer_state(payer, done, now),
                    self._messages.transfer_state(payee, done, now, method="PATCH"),
                ]
            else:
                notes = [
                    self._messages.forward(
                        payer,
                        EndpointType.TRANSFER_PUT,
                        method="PUT",
                        headers=headers,
                        body=body,
                        transferId=transfer_id,
                    )
                ]
            if not self._store.finish_transfer(
                transfer_id,
                state=TransferState.COMMITTED,
                fulfilment=answer.fulfilment,
                completed_at=now,
                error_code=None,
                callbacks=some(*notes),
            ):
                self._endings.late_from_store(
                    payee, transfer_id, answer.fulfilment, now, reserved=reserved
                )
        elif result in GONE:
            if not self._endings.abort(
                transfer,
                ErrorCode.TRANSFER_EXPIRED,
                None,
                now,
                notify_payee=True,
                ledger=False,
                payee_reserved=reserved,
            ):
                self._endings.late_from_store(
                    payee, transfer_id, answer.fulfilment, now, reserved=reserved
                )
        else:
            _log.warning("ledger refused commit of %s: %s", transfer_id, result.value)
            raise FspiopError(
                ErrorCode.INTERNAL_SERVER_ERROR, f"the ledger refused the commit ({result.value})"
            )

    # --- PUT /transfers/{ID}/error ---------------------------------------------------------

    def reject(
        self,
        payee: Participant,
        transfer_id: str,
        *,
        message: dict[str, object],
        headers: Mapping[str, str],
        body: bytes,
    ) -> None:
        """The payee refuses the transfer: release the reservation, pass its error to the payer."""
        _, code, _ = parse_error(message)
        now = self._clock.now()
        self._reserved.pop(transfer_id, None)
        transfer = self._own(payee, transfer_id, now, role="payee")
        if transfer is None or transfer.final:
            return
        void = NewTransfer(
            void_id(transfer_id), pending_id=transfer_id, flags=TransferFlags.VOID_PENDING
        )
        result = self._batcher.create_transfer(void, actor=ACTOR, timeout=self._wait).result
        if result not in DONE and result not in GONE:
            raise FspiopError(
                ErrorCode.INTERNAL_SERVER_ERROR, f"the ledger refused the abort ({result.value})"
            )
        payer = self._participants.get(transfer.payer)
        note = self._messages.forward(
            payer,
            EndpointType.TRANSFER_ERROR,
            method="PUT",
            headers=headers,
            body=body,
            transferId=transfer_id,
        )
        self._store.finish_transfer(
            transfer_id,
            state=TransferState.ABORTED,
            fulfilment=None,
            completed_at=now,
            error_code=code,
            callbacks=some(note),
        )

    # --- GET /transfers/{ID} ---------------------------------------------------------------

    def query(self, source: Participant, transfer_id: str) -> None:
        """Answer by callback with the transfer's state, to its payer or payee only."""
        now = self._clock.now()
        transfer = self._own(source, transfer_id, now, role="payer or payee")
        if transfer is None:
            return
        if transfer.state is TransferState.ABORTED:
            note = self._messages.transfer_final(source, transfer, now)
        else:
            note = self._messages.transfer_state(source, transfer, now)
        self._store.add_callbacks(some(note), at=now)

    def _own(
        self, source: Participant, transfer_id: str, now: datetime, *, role: str
    ) -> HubTransfer | None:
        transfer = self._store.get_transfer(transfer_id)
        allowed = transfer is not None and (
            transfer.payee == source.fsp_id if role == "payee" else transfer.involves(source.fsp_id)
        )
        if not allowed:
            # Another FSP's transfer is answered as unknown: its existence is not disclosed.
            note = self._messages.transfer_error(
                source, transfer_id, ErrorCode.TRANSFER_NOT_FOUND, None, now
            )
            self._store.add_callbacks(some(note), at=now)
            return None
        return transfer

    def sweep(self) -> int:
        """Finish open transfers past their expiration (see :meth:`TransferEndings.sweep`)."""
        finished = self._endings.sweep()
        for transfer_id in finished:
            self._reserved.pop(transfer_id, None)
        return len(finished)
