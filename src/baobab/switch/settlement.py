"""Settlement windows and deferred multilateral net settlement.

A window holds the transfers committed while it was open. Closing it opens the next. Starting
its settlement freezes each FSP's net position per currency (received minus sent), once the
``grace`` after closing has passed, so that no transfer committed before the close is still
being recorded. Settling moves the funds in the ledger in one linked chain, all or nothing:
each net payer's free liquidity goes to the hub's bank account and from there to each net
receiver's liquidity, and every position is reset (a payer's position credited back, a
receiver's debited), so the Net Debit Caps start afresh. A payer whose free liquidity does not
cover its net debit blocks the settlement until it deposits or its cap is lowered.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from baobab.kernel.audit import AuditEvent
from baobab.kernel.clock import Clock
from baobab.kernel.errors import Conflict, NotFound
from baobab.kernel.money import Money
from baobab.ledger import LedgerService, NewTransfer, TransferFlags, TransferResult
from baobab.switch.domain import (
    LedgerRefused,
    NetPosition,
    SettlementWindow,
    WindowState,
    account_ids,
    hub_accounts,
)
from baobab.switch.fspiop import amount_text
from baobab.switch.ports import SettlementStore


class WindowNotFound(NotFound):
    code = "switch.window_not_found"
    title = "Settlement window not found"


class WindowStateConflict(Conflict):
    code = "switch.window_state"
    title = "Settlement window in the wrong state"


@dataclass(frozen=True, slots=True)
class SettlementReport:
    """A window and its net positions (frozen once its settlement started, live before)."""

    window: SettlementWindow
    positions: Sequence[NetPosition]

    def as_json(self) -> dict[str, object]:
        """The report as a JSON object; amounts as FSPIOP decimal strings."""
        w = self.window
        return {
            "windowId": w.window_id,
            "state": w.state.value,
            "openedAt": w.opened_at.isoformat(),
            "closedAt": w.closed_at.isoformat() if w.closed_at else None,
            "settledAt": w.settled_at.isoformat() if w.settled_at else None,
            "positions": [
                {
                    "fspId": p.fsp_id,
                    "currency": p.currency,
                    "sent": _text(p.sent, p.currency),
                    "received": _text(p.received, p.currency),
                    "net": _text(p.net, p.currency),
                    "transfers": p.transfers,
                }
                for p in self.positions
            ],
        }

    def as_csv(self) -> str:
        """The report as CSV, one row per FSP and currency."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            ["window_id", "state", "fsp_id", "currency", "sent", "received", "net", "transfers"]
        )
        for p in self.positions:
            writer.writerow(
                [
                    self.window.window_id,
                    self.window.state.value,
                    p.fsp_id,
                    p.currency,
                    _text(p.sent, p.currency),
                    _text(p.received, p.currency),
                    _text(p.net, p.currency),
                    p.transfers,
                ]
            )
        return out.getvalue()


def _text(minor: int, currency: str) -> str:
    if minor < 0:
        return "-" + amount_text(Money(-minor, currency))
    return amount_text(Money(minor, currency))


class SettlementService:
    """The settlement use cases; ``grace`` is how long after closing settlement may start."""

    def __init__(
        self,
        *,
        store: SettlementStore,
        ledger: LedgerService,
        clock: Clock,
        grace: timedelta = timedelta(seconds=30),
    ) -> None:
        self._store = store
        self._ledger = ledger
        self._clock = clock
        self._grace = grace

    def windows(self, limit: int = 50) -> Sequence[SettlementWindow]:
        """The newest windows first."""
        return self._store.windows(limit)

    def close(self, *, actor: str) -> SettlementWindow:
        """Close the open window and open the next; return the closed one."""
        return self._store.close_window(
            self._clock.now(), AuditEvent("switch.window_closed", actor, "window")
        )

    def _window(self, window_id: int) -> SettlementWindow:
        window = self._store.get_window(window_id)
        if window is None:
            raise WindowNotFound(f"no settlement window {window_id}")
        return window

    def report(self, window_id: int) -> SettlementReport:
        """The window's net positions."""
        window = self._window(window_id)
        if window.state in (WindowState.PENDING_SETTLEMENT, WindowState.SETTLED):
            return SettlementReport(window, self._store.frozen_positions(window_id))
        until = window.closed_at or self._clock.now()
        return SettlementReport(window, self._store.net_positions(window.opened_at, until))

    def start(self, *, actor: str, window_id: int) -> SettlementReport:
        """Freeze a closed window's net positions: it is now pending settlement."""
        window = self._window(window_id)
        now = self._clock.now()
        if window.state is not WindowState.CLOSED or window.closed_at is None:
            raise WindowStateConflict(f"window {window_id} is {window.state.value}, not CLOSED")
        if now < window.closed_at + self._grace:
            raise WindowStateConflict(
                f"window {window_id} closed less than {self._grace.total_seconds():.0f} s ago; "
                "transfers committed before the close may still be recorded"
            )
        positions = self._store.net_positions(window.opened_at, window.closed_at)
        event = AuditEvent("switch.settlement_started", actor, str(window_id))
        if not self._store.move_window(
            window_id,
            from_state=WindowState.CLOSED,
            to_state=WindowState.PENDING_SETTLEMENT,
            at=now,
            event=event,
            positions=positions,
        ):
            raise WindowStateConflict(f"window {window_id} changed meanwhile")
        return self.report(window_id)

    def settle(self, *, actor: str, window_id: int) -> SettlementReport:
        """Move the funds and reset the positions of a window pending settlement."""
        window = self._window(window_id)
        if window.state is not WindowState.PENDING_SETTLEMENT:
            raise WindowStateConflict(
                f"window {window_id} is {window.state.value}, not PENDING_SETTLEMENT"
            )
        positions = self._store.frozen_positions(window_id)
        chain = self._next_attempt(window_id, positions)
        if chain:
            results = self._ledger.create_transfers(chain, actor=actor)
            refused = [r for r in results if r not in (TransferResult.OK, TransferResult.EXISTS)]
            if refused:
                causes = [
                    r for r in refused if r is not TransferResult.LINKED_EVENT_FAILED
                ] or refused
                raise LedgerRefused(
                    f"settlement of window {window_id} refused by the ledger: {causes[0].value}",
                    extra={"result": causes[0].value},
                )
        now = self._clock.now()
        event = AuditEvent("switch.window_settled", actor, str(window_id))
        self._store.move_window(
            window_id,
            from_state=WindowState.PENDING_SETTLEMENT,
            to_state=WindowState.SETTLED,
            at=now,
            event=event,
        )
        return self.report(window_id)

    def _next_attempt(self, window_id: int, positions: Sequence[NetPosition]) -> list[NewTransfer]:
        """The chain to submit: empty if an earlier attempt went through (a crash after the
        ledger, before the window's state; the chain is all or nothing, so its first event
        tells), else the chain under the first attempt number not used yet (the ledger records
        a refused chain, so a retry after a deposit needs new ids)."""
        for attempt in range(1, _MAX_ATTEMPTS + 1):
            chain = movements(f"stl-{window_id}-{attempt}", positions)
            if not chain:
                return []
            (first,) = self._ledger.lookup_transfers([chain[0].id]) or (None,)
            if first is None:
                return chain
            if first.succeeded:
                return []
        raise WindowStateConflict(f"window {window_id} failed to settle {_MAX_ATTEMPTS} times")


_MAX_ATTEMPTS = 1000


def movements(prefix: str, positions: Sequence[NetPosition]) -> list[NewTransfer]:
    """The linked ledger chain that settles ``positions``; ids start with ``prefix``."""
    chain: list[NewTransfer] = []
    for p in positions:
        if p.net == 0:
            continue
        ids = account_ids(p.fsp_id, p.currency)
        control, bank = hub_accounts(p.currency)
        amount = abs(p.net)
        key = f"{prefix}-{p.fsp_id}-{p.currency}"
        if p.net < 0:
            chain.append(
                NewTransfer(
                    f"{key}-p",
                    control,
                    ids.position,
                    amount,
                    p.currency,
                    flags=TransferFlags.LINKED,
                )
            )
            chain.append(
                NewTransfer(
                    f"{key}-l", ids.liquidity, bank, amount, p.currency, flags=TransferFlags.LINKED
                )
            )
        else:
            chain.append(
                NewTransfer(
                    f"{key}-p",
                    ids.position,
                    control,
                    amount,
                    p.currency,
                    flags=TransferFlags.LINKED,
                )
            )
            chain.append(
                NewTransfer(
                    f"{key}-l", bank, ids.liquidity, amount, p.currency, flags=TransferFlags.LINKED
                )
            )
    if chain:
        last = chain[-1]
        chain[-1] = NewTransfer(
            last.id, last.debit_account_id, last.credit_account_id, last.amount, last.currency
        )
    return chain
