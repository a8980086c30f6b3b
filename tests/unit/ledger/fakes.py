"""A hand-written in-memory ledger store: the port's contract, with faults on demand."""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime

from baobab.kernel.audit import AuditEvent
from baobab.ledger.domain import RESOLVING_FLAGS, Account, AccountFlags, Transfer, TrialBalance
from baobab.ledger.engine import BatchOutcome
from baobab.ledger.ports import StoreContention


class InjectedFault(Exception):
    """Raised by the fake where a test asked for a crash."""


@dataclass
class _State:
    accounts: dict[str, Account] = field(default_factory=dict)
    transfers: dict[str, Transfer] = field(default_factory=dict)
    settled: dict[str, int] = field(default_factory=dict)
    timeouts: dict[str, Transfer] = field(default_factory=dict)
    audit: list[AuditEvent] = field(default_factory=list)
    sequence: int = 0


class InMemorySession:
    """One unit of work over a private copy of the state; the store swaps it in on commit."""

    def __init__(self, state: _State, store: InMemoryLedgerStore) -> None:
        self.state = state
        self._store = store

    def _copy(self, account: Account) -> Account:
        return copy.copy(account)

    def lock_accounts(self, ids: Collection[str]) -> dict[str, Account]:
        return {i: self.state.accounts[i] for i in sorted(ids) if i in self.state.accounts}

    def find_accounts(self, ids: Collection[str]) -> dict[str, Account]:
        return {i: self._copy(self.state.accounts[i]) for i in ids if i in self.state.accounts}

    def find_transfers(self, ids: Collection[str]) -> dict[str, Transfer]:
        return {i: self.state.transfers[i] for i in ids if i in self.state.transfers}

    def find_settled(self, pending_ids: Collection[str]) -> dict[str, int]:
        return {i: self.state.settled[i] for i in pending_ids if i in self.state.settled}

    def insert_accounts(self, accounts: Sequence[Account]) -> None:
        for account in accounts:
            if account.id in self.state.accounts:
                raise StoreContention("account id taken")
            self.state.accounts[account.id] = self._copy(account)

    @contextmanager
    def appender(self) -> Iterator[Callable[[Transfer], None]]:
        yield self._append

    def _append(self, record: Transfer) -> None:
        if record.id in self.state.transfers:
            raise StoreContention("transfer id taken")
        self.state.sequence += 1
        self.state.transfers[record.id] = replace(record, sequence=self.state.sequence)
        if record.succeeded and record.flags & RESOLVING_FLAGS:
            assert record.pending_id is not None
            if record.pending_id in self.state.settled:
                raise StoreContention("pending transfer settled twice")
            self.state.settled[record.pending_id] = int(record.flags) & RESOLVING_FLAGS

    def write(self, outcome: BatchOutcome) -> None:
        self._store.writes += 1
        if self._store.fail_after_writes == self._store.writes:
            self._store.fail_after_writes = None
            # The records are in, half the totals land, then the crash: the unit of work must
            # drop everything.
            for account in list(outcome.touched.values())[: len(outcome.touched) // 2]:
                self.state.accounts[account.id] = self._copy(account)
            raise InjectedFault("crash in the middle of a write")
        for account in outcome.touched.values():
            self.state.accounts[account.id] = self._copy(account)
        for record in outcome.timeouts_added:
            self.state.timeouts[record.id] = record
        for pending_id in outcome.timeouts_removed:
            self.state.timeouts.pop(pending_id, None)

    def due_pending(self, now: datetime, limit: int) -> list[Transfer]:
        due = [t for t in self.state.timeouts.values() if t.expires_at and t.expires_at <= now]
        due.sort(key=lambda t: (t.expires_at, t.id))
        return due[:limit]

    def audit(self, event: AuditEvent, *, at: datetime) -> None:
        self.state.audit.append(event)

    def trial_balance(self) -> list[TrialBalance]:
        books: dict[str, list[int]] = {}
        for a in self.state.accounts.values():
            row = books.setdefault(a.currency, [0] * 6)
            row[0] += 1
            row[1] += a.debits_pending
            row[2] += a.debits_posted
            row[3] += a.credits_pending
            row[4] += a.credits_posted
            wallet = a.flags & AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
            capped = a.flags & AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
            if (wallet and a.debits_pending + a.debits_posted > a.credits_posted) or (
                capped and a.credits_pending + a.credits_posted > a.debits_posted
            ):
                row[5] += 1
        return [TrialBalance(c, *books[c]) for c in sorted(books)]

    def history(self, account_id: str, *, after: int, limit: int) -> list[Transfer]:
        rows = [
            t
            for t in self.state.transfers.values()
            if t.succeeded
            and t.sequence > after
            and account_id in (t.debit_account_id, t.credit_account_id)
        ]
        rows.sort(key=lambda t: t.sequence)
        return rows[:limit]


class InMemoryLedgerStore:
    """Commits a unit of work by swapping in its copy, so a failure leaves no trace.

    ``fail_after_writes = n`` makes the n-th write crash half-way, as a process dying mid-batch.
    """

    def __init__(self) -> None:
        self.state = _State()
        self.writes = 0
        self.fail_after_writes: int | None = None
        self.units = 0

    @contextmanager
    def unit(self) -> Iterator[InMemorySession]:
        self.units += 1
        working = _State(
            accounts={i: copy.copy(a) for i, a in self.state.accounts.items()},
            transfers=dict(self.state.transfers),
            settled=dict(self.state.settled),
            timeouts=dict(self.state.timeouts),
            audit=list(self.state.audit),
            sequence=self.state.sequence,
        )
        yield InMemorySession(working, self)
        self.state = working
