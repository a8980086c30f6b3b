"""How transfers end other than by a plain commit: aborts (void in the ledger, error callbacks or,
to a payee that asked for a commit notification, the ``PATCH``), commits the hub's record missed
(recovered from the ledger), late answers, and the expiry sweep."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from baobab.kernel.clock import Clock
from baobab.ledger import LedgerService, NewTransfer, TransferBatcher, TransferFlags, TransferResult
from baobab.switch.domain import (
    Callback,
    HubTransfer,
    Participant,
    TransferState,
    post_id,
    void_id,
)
from baobab.switch.fspiop import ErrorCode, FspiopError
from baobab.switch.messages import Messages
from baobab.switch.participants import ParticipantService
from baobab.switch.ports import SwitchStore

_log = logging.getLogger(__name__)
ACTOR = "switch"
DONE = (TransferResult.OK, TransferResult.EXISTS)
GONE = (
    TransferResult.PENDING_TRANSFER_EXPIRED,
    TransferResult.PENDING_TRANSFER_ALREADY_VOIDED,
)


def some(*callbacks: Callback | None) -> Sequence[Callback]:
    """The callbacks that exist (a participant without the endpoint gets none)."""
    return [callback for callback in callbacks if callback is not None]


class TransferEndings:
    """Aborts, recovered commits, late answers and the sweep, over the hub's record and the
    ledger."""

    def __init__(
        self,
        *,
        store: SwitchStore,
        participants: ParticipantService,
        ledger: LedgerService,
        batcher: TransferBatcher,
        messages: Messages,
        clock: Clock,
        ledger_wait: float,
    ) -> None:
        self._store = store
        self._participants = participants
        self._ledger = ledger
        self._batcher = batcher
        self._messages = messages
        self._clock = clock
        self._wait = ledger_wait

    def abort(
        self,
        transfer: HubTransfer,
        error: ErrorCode,
        description: str | None,
        now: datetime,
        *,
        notify_payee: bool,
        ledger: bool = True,
        payee_reserved: bool = False,
    ) -> bool:
        """Void the reservation (unless ``ledger`` is False: it is gone already) and finish the
        record as aborted; the payer gets the error, the payee too if ``notify_payee`` - as the
        ``PATCH`` with ``ABORTED`` if it answered ``RESERVED`` (``payee_reserved``). False if the
        record was final already."""
        if ledger:
            void = NewTransfer(
                void_id(transfer.transfer_id),
                pending_id=transfer.transfer_id,
                flags=TransferFlags.VOID_PENDING,
            )
            result = self._batcher.create_transfer(void, actor=ACTOR, timeout=self._wait).result
            if result is TransferResult.PENDING_TRANSFER_ALREADY_POSTED:
                return self.recover_commit(transfer, now)
            if result not in DONE and result not in GONE:
                raise FspiopError(
                    ErrorCode.INTERNAL_SERVER_ERROR,
                    f"the ledger refused the abort ({result.value})",
                )
        notes = [self._note(transfer.payer, transfer.transfer_id, error, description, now)]
        if notify_payee and payee_reserved:
            aborted = replace(transfer, state=TransferState.ABORTED, completed_at=now)
            notes.append(self._state_note(transfer.payee, aborted, now, "PATCH"))
        elif notify_payee:
            notes.append(self._note(transfer.payee, transfer.transfer_id, error, description, now))
        return self._store.finish_transfer(
            transfer.transfer_id,
            state=TransferState.ABORTED,
            fulfilment=None,
            completed_at=now,
            error_code=error.code,
            callbacks=some(*notes),
        )

    def recover_commit(self, transfer: HubTransfer, now: datetime) -> bool:
        """The ledger committed but the hub's record did not follow (a crash): finish it."""
        (post,) = self._ledger.lookup_transfers([post_id(transfer.transfer_id)]) or (None,)
        if post is None or not post.succeeded:
            return False
        done = replace(
            transfer, state=TransferState.COMMITTED, fulfilment=post.reference, completed_at=now
        )
        notes = [
            self._state_note(transfer.payer, done, now, "PUT"),
            self._state_note(transfer.payee, done, now, "PATCH"),
        ]
        return self._store.finish_transfer(
            transfer.transfer_id,
            state=TransferState.COMMITTED,
            fulfilment=post.reference,
            completed_at=now,
            error_code=None,
            callbacks=some(*notes),
        )

    def late_from_store(
        self,
        payee: Participant,
        transfer_id: str,
        fulfilment: str,
        now: datetime,
        *,
        reserved: bool = False,
    ) -> None:
        """The record was final already (finished meanwhile by another path): answer as to a
        late fulfilment."""
        transfer = self._store.get_transfer(transfer_id)
        if transfer is not None and transfer.final:
            self.late(payee, transfer, fulfilment, now, reserved=reserved)

    def late(
        self,
        payee: Participant,
        transfer: HubTransfer,
        fulfilment: str,
        now: datetime,
        *,
        reserved: bool = False,
    ) -> None:
        """A fulfilment for a finished transfer. A payee that asks for a commit notification
        (``RESERVED``) gets the ``PATCH`` with the final state again - the FSPIOP way to ask for a
        lost one; otherwise nothing if it is the answer that committed it, else the transfer's
        error (3106 for another fulfilment of a committed one)."""
        same = transfer.state is TransferState.COMMITTED and transfer.fulfilment == fulfilment
        if reserved and (same or transfer.state is TransferState.ABORTED):
            patch = self._messages.transfer_state(payee, transfer, now, method="PATCH")
            self._store.add_callbacks(some(patch), at=now)
            return
        if same:
            return  # a resend of the answer that committed it
        error = ErrorCode.of(transfer.error_code or ErrorCode.MODIFIED_REQUEST.code)
        if transfer.state is TransferState.COMMITTED:
            error = ErrorCode.MODIFIED_REQUEST
        note = self._messages.transfer_error(payee, transfer.transfer_id, error, None, now)
        self._store.add_callbacks(some(note), at=now)

    def sweep(self, *, grace: timedelta = timedelta(seconds=2), limit: int = 500) -> list[str]:
        """Finish open transfers past their expiration (plus ``grace``): commit those the ledger
        committed, abort the rest with 3303 to payer and payee. Returns the finished ids."""
        now = self._clock.now()
        finished: list[str] = []
        for transfer in self._store.open_transfers_expired(now - grace, limit):
            try:
                if self.recover_commit(transfer, now) or self.abort(
                    transfer, ErrorCode.TRANSFER_EXPIRED, None, now, notify_payee=True
                ):
                    finished.append(transfer.transfer_id)
            except Exception:  # one stuck transfer must not stop the others
                _log.exception("sweeping transfer %s failed", transfer.transfer_id)
        return finished

    def _note(
        self,
        fsp_id: str,
        transfer_id: str,
        error: ErrorCode,
        description: str | None,
        now: datetime,
    ) -> Callback | None:
        to = self._participants.find(fsp_id)
        return (
            None
            if to is None
            else self._messages.transfer_error(to, transfer_id, error, description, now)
        )

    def _state_note(
        self, fsp_id: str, transfer: HubTransfer, now: datetime, method: str
    ) -> Callback | None:
        to = self._participants.find(fsp_id)
        return (
            None if to is None else self._messages.transfer_state(to, transfer, now, method=method)
        )
