"""What the switch needs from outside: its store, and an HTTP sender for callbacks."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from baobab.kernel.audit import AuditEvent
from baobab.switch.domain import (
    BulkItem,
    BulkState,
    Callback,
    HubBulk,
    HubQuote,
    HubTransfer,
    NetPosition,
    Participant,
    QuoteState,
    SettlementWindow,
    TransferState,
    WindowState,
)


@dataclass(frozen=True, slots=True)
class PendingCallback:
    """A callback to deliver: an outbox row claimed for delivery, or (``id`` None) one sent
    from memory that is written to the table only if it has to be tried again."""

    id: int | None
    callback: Callback
    attempts: int


class SwitchStore(Protocol):
    """The switch's tables. Each method is one transaction. Callbacks written are handed to
    the listener (the outbox worker) once committed."""

    def listen(self, listener: Callable[[Sequence[PendingCallback]], None]) -> None: ...

    def add_participant(self, participant: Participant, event: AuditEvent) -> bool: ...
    def get_participant(self, fsp_id: str) -> Participant | None: ...
    def list_participants(self) -> Sequence[Participant]: ...
    def add_currency(self, fsp_id: str, currency: str, event: AuditEvent, at: datetime) -> bool: ...
    def set_endpoint(
        self, fsp_id: str, kind: str, value: str, event: AuditEvent, at: datetime
    ) -> None: ...
    def set_enabled(self, fsp_id: str, enabled: bool, event: AuditEvent, at: datetime) -> None: ...

    def record_transfer(
        self, transfer: HubTransfer, callbacks: Sequence[Callback], *, at: datetime
    ) -> HubTransfer | None:
        """Insert a new transfer with its callbacks; return the existing one instead if the
        id is taken (and write nothing)."""
        ...

    def get_transfer(self, transfer_id: str) -> HubTransfer | None: ...

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
        """Move an open transfer to a final state and queue its callbacks; False (and nothing
        written) if it was no longer open."""
        ...

    def open_transfers_expired(self, now: datetime, limit: int) -> Sequence[HubTransfer]: ...
    def add_callbacks(self, callbacks: Sequence[Callback], *, at: datetime) -> None: ...
    def claim_callbacks(
        self, now: datetime, *, lease_until: datetime, limit: int
    ) -> Sequence[PendingCallback]: ...
    def callbacks_done(
        self,
        delivered: Sequence[int],
        retries: Mapping[int, tuple[datetime, str]],
        failed: Mapping[int, str],
    ) -> None: ...
    def keep_callbacks(
        self,
        retries: Sequence[tuple[Callback, datetime, str]],
        failed: Sequence[tuple[Callback, str]],
        *,
        at: datetime,
    ) -> None:
        """Write callbacks sent from memory that failed once (at ``at``): ``retries`` due
        again at their time, ``failed`` kept for the operator."""
        ...

    def failed_callbacks(self, limit: int) -> Sequence[tuple[PendingCallback, str]]: ...

    def record_quote(self, quote: HubQuote) -> HubQuote | None:
        """Insert a new quote; the existing one instead if the id is taken."""
        ...

    def get_quote(self, quote_id: str) -> HubQuote | None: ...

    def answer_quote(
        self,
        quote_id: str,
        *,
        payee: str,
        state: QuoteState,
        response: bytes,
        headers: Mapping[str, str],
    ) -> str | None:
        """Record ``payee``'s answer to a quote of its that still waits; the payer's FSP id, or
        None (nothing written) if there is no such quote waiting."""
        ...


class CallbackSender(Protocol):
    """Sends one HTTP request; returns the status, raises ``OSError``/``TimeoutError``."""

    async def send(self, callback: Callback, *, timeout: float) -> int: ...

    async def aclose(self) -> None: ...


class SettlementStore(Protocol):
    """Settlement windows and their frozen net positions. Each method is one transaction."""

    def close_window(self, now: datetime, event: AuditEvent) -> SettlementWindow:
        """Close the open window (opening one first if there is none) and open the next;
        return the window closed."""
        ...

    def windows(self, limit: int) -> Sequence[SettlementWindow]: ...
    def get_window(self, window_id: int) -> SettlementWindow | None: ...
    def net_positions(self, opened_at: datetime, closed_at: datetime) -> Sequence[NetPosition]: ...
    def frozen_positions(self, window_id: int) -> Sequence[NetPosition]: ...

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
        """Change the window's state if it is ``from_state`` (storing ``positions``)."""
        ...


class BulkStore(Protocol):
    """Bulk transfers. Each method is one transaction; callbacks go out as with
    :class:`SwitchStore`."""

    def record_bulk(self, bulk: HubBulk, callbacks: Sequence[Callback]) -> HubBulk | None: ...
    def add_callbacks(self, callbacks: Sequence[Callback], *, at: datetime) -> None: ...
    def get_bulk(self, bulk_id: str) -> HubBulk | None: ...

    def finish_bulk(
        self,
        bulk: HubBulk,
        *,
        state: BulkState,
        result: bytes,
        committed: Sequence[tuple[BulkItem, str]],
        at: datetime,
        callbacks: Sequence[Callback],
    ) -> bool: ...

    def open_bulks_expired(self, now: datetime, limit: int) -> Sequence[HubBulk]: ...
