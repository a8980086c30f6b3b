"""A seeded, deterministic simulation of a busy ledger, checked against the simple model.

The same driver runs over the in-memory fake (unit tests, many steps) and over SQL storage
(integration tests). Faults are injected through a wrapper of the storage port: a write that
dies half-way (the unit of work must leave nothing behind) and a process restart (a new service
over a new connection to the same storage). The seed is printed so any failure replays exactly.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from baobab.kernel.audit import AuditEvent
from baobab.kernel.clock import ManualClock
from baobab.ledger import (
    AccountFlags,
    AccountKind,
    LedgerService,
    LedgerStore,
    NewAccount,
    NewTransfer,
    TransferFlags,
    TransferResult,
)
from baobab.ledger.domain import Account, Transfer, TrialBalance
from baobab.ledger.engine import BatchOutcome
from baobab.ledger.ports import LedgerSession
from tests.unit.ledger.model import Model

START = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
WALLET = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
CAPPED = AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
ACCOUNTS = [
    NewAccount("usd-bank", "USD", AccountKind.SETTLEMENT, "bank"),
    NewAccount("usd-a", "USD", AccountKind.POSITION, "fsp-a", WALLET),
    NewAccount("usd-b", "USD", AccountKind.POSITION, "fsp-b", WALLET),
    NewAccount("usd-c", "USD", AccountKind.POSITION, "fsp-c", WALLET),
    NewAccount("usd-cap", "USD", AccountKind.LIQUIDITY, "fsp-d", CAPPED),
    NewAccount("usd-fees", "USD", AccountKind.FEES, "ops"),
    NewAccount("eur-bank", "EUR", AccountKind.SETTLEMENT, "bank"),
    NewAccount("eur-a", "EUR", AccountKind.POSITION, "fsp-a", WALLET),
]
CURRENCY = {a.id: a.currency for a in ACCOUNTS}


class CrashInWrite(Exception):
    """The injected fault: the process 'dies' half-way through writing a batch."""


class _FaultySession:
    def __init__(self, inner: LedgerSession, store: FaultyStore) -> None:
        self._inner = inner
        self._store = store

    def lock_accounts(self, ids: Collection[str]) -> dict[str, Account]:
        return self._inner.lock_accounts(ids)

    def find_accounts(self, ids: Collection[str]) -> dict[str, Account]:
        return self._inner.find_accounts(ids)

    def find_transfers(self, ids: Collection[str]) -> dict[str, Transfer]:
        return self._inner.find_transfers(ids)

    def find_settled(self, pending_ids: Collection[str]) -> dict[str, int]:
        return self._inner.find_settled(pending_ids)

    def insert_accounts(self, accounts: Sequence[Account]) -> None:
        self._inner.insert_accounts(accounts)

    def appender(self) -> AbstractContextManager[Callable[[Transfer], None]]:
        return self._inner.appender()

    def write(self, outcome: BatchOutcome) -> None:
        if self._store.crash_next_write:
            # The records are in; half the totals land; then the process "dies".
            half = replace(
                outcome,
                touched=dict(list(outcome.touched.items())[: len(outcome.touched) // 2]),
                timeouts_added=[],
                timeouts_removed=[],
            )
            self._inner.write(half)  # really written inside the transaction, then the crash
            self._store.crash_next_write = False
            raise CrashInWrite("injected crash half-way through a write")
        self._inner.write(outcome)

    def due_pending(self, now: datetime, limit: int) -> list[Transfer]:
        return self._inner.due_pending(now, limit)

    def history(self, account_id: str, *, after: int, limit: int) -> list[Transfer]:
        return self._inner.history(account_id, after=after, limit=limit)

    def audit(self, event: AuditEvent, *, at: datetime) -> None:
        self._inner.audit(event, at=at)

    def trial_balance(self) -> list[TrialBalance]:
        return self._inner.trial_balance()


class FaultyStore:
    """Wraps any store; ``crash_next_write`` makes the next write die half-way."""

    def __init__(self, inner: LedgerStore) -> None:
        self.inner = inner
        self.crash_next_write = False

    @contextmanager
    def unit(self) -> Iterator[_FaultySession]:
        with self.inner.unit() as session:
            yield _FaultySession(session, self)


@dataclass
class SimulationReport:
    seed: int
    batches: int = 0
    events: int = 0
    applied: int = 0
    crashes: int = 0
    restarts: int = 0
    expired: int = 0


class _Events:
    """Random events, biased towards the interesting cases."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.sent: list[NewTransfer] = []
        self.pendings: list[str] = []
        self.serial = 0

    def next(self) -> NewTransfer:
        rng = self.rng
        roll = rng.random()
        if self.sent and roll < 0.12:
            old = rng.choice(self.sent)
            if rng.random() < 0.7:
                return old  # an exact retry
            return replace(old, amount=(old.amount or 1) + 1)  # same id, different body
        self.serial += 1
        tid = f"t{self.serial}"
        if self.pendings and roll < 0.35:
            pending = rng.choice(self.pendings)
            flags = TransferFlags.POST_PENDING if rng.random() < 0.6 else TransferFlags.VOID_PENDING
            amount = rng.choice([None, None, rng.randint(1, 300)])
            return self._keep(NewTransfer(tid, pending_id=pending, amount=amount, flags=flags))
        debit, credit = rng.sample([a.id for a in ACCOUNTS], 2)
        if rng.random() < 0.03:
            debit = "ghost"
        currency = CURRENCY.get(debit, "USD") if rng.random() < 0.97 else "JPY"
        amount = rng.choice([rng.randint(1, 400)] * 20 + [0, -3])
        if rng.random() < 0.35:
            timeout = rng.choice([0, 5, 30, 120])
            event = NewTransfer(
                tid, debit, credit, amount, currency, timeout=timeout, flags=TransferFlags.PENDING
            )
            self.pendings.append(tid)
            return self._keep(event)
        return self._keep(NewTransfer(tid, debit, credit, amount, currency))

    def _keep(self, event: NewTransfer) -> NewTransfer:
        self.sent.append(event)
        return event

    def batch(self) -> list[NewTransfer]:
        rng = self.rng
        events = [self.next() for _ in range(rng.randint(1, 24))]
        # Link some neighbours into chains; now and then leave the last chain open.
        for i in range(len(events) - 1):
            if rng.random() < 0.15:
                events[i] = replace(events[i], flags=events[i].flags | TransferFlags.LINKED)
        if rng.random() < 0.02:
            events[-1] = replace(events[-1], flags=events[-1].flags | TransferFlags.LINKED)
        return events


def check_invariants(ledger: LedgerService) -> None:
    """Money is neither created nor destroyed, and no limited account crosses its limit."""
    sums: dict[str, list[int]] = {}
    for account in ledger.lookup_accounts([a.id for a in ACCOUNTS]):
        s = sums.setdefault(account.currency, [0, 0, 0, 0])
        s[0] += account.debits_pending
        s[1] += account.debits_posted
        s[2] += account.credits_pending
        s[3] += account.credits_posted
        assert (
            min(
                account.debits_pending,
                account.debits_posted,
                account.credits_pending,
                account.credits_posted,
            )
            >= 0
        ), account
        if account.flags & WALLET:
            assert account.debits_pending + account.debits_posted <= account.credits_posted
        if account.flags & CAPPED:
            assert account.credits_pending + account.credits_posted <= account.debits_posted
    for currency, (dp, dpo, cp, cpo) in sums.items():
        assert dp == cp, f"{currency}: pending debits {dp} != pending credits {cp}"
        assert dpo == cpo, f"{currency}: posted debits {dpo} != posted credits {cpo}"
    books = {b.currency: b for b in ledger.trial_balance()}
    assert all(b.balanced for b in books.values()), books
    assert {c: [b.debits_pending, b.debits_posted, b.credits_pending, b.credits_posted]
            for c, b in books.items()} == sums  # fmt: skip


def run_simulation(
    seed: int,
    *,
    batches: int,
    open_store: Callable[[], LedgerStore],
    compare_every: int = 1,
    fault_rate: float = 0.05,
) -> SimulationReport:
    """Run ``batches`` random batches from ``seed`` and compare with the model as it goes."""
    print(f"ledger simulation seed={seed}")  # the seed is what replays a failure
    rng = random.Random(seed)
    clock = ManualClock(START)
    store = FaultyStore(open_store())
    ledger = LedgerService(store, clock)
    model = Model()
    report = SimulationReport(seed)
    assert all(r.succeeded for r in ledger.create_accounts(ACCOUNTS, actor="tests"))
    for account in ACCOUNTS:
        model.open(account)
    funding = [
        NewTransfer("fund-a", "usd-bank", "usd-a", 5_000, "USD"),
        NewTransfer("fund-b", "usd-bank", "usd-b", 2_000, "USD"),
        NewTransfer("fund-c", "usd-bank", "usd-c", 500, "USD"),
        NewTransfer("fund-cap", "usd-cap", "usd-bank", 3_000, "USD"),
        NewTransfer("fund-e", "eur-bank", "eur-a", 4_000, "EUR"),
    ]
    assert ledger.create_transfers(funding, actor="tests") == model.apply_batch(
        funding, clock.now()
    )
    source = _Events(rng)
    for step in range(batches):
        events = source.batch()
        report.batches += 1
        report.events += len(events)
        if rng.random() < fault_rate:
            store.crash_next_write = True
            try:
                ledger.create_transfers(events, actor="tests")
            except CrashInWrite:
                report.crashes += 1
            else:  # nothing to write (every event refused statically): the fault never fired
                store.crash_next_write = False
            # The client never got an answer; whether it retries is up to it - here it does.
        results = ledger.create_transfers(events, actor="tests")
        expected = model.apply_batch(events, clock.now())
        diff = list(zip(events, results, expected, strict=True))
        assert results == expected, f"seed={seed} step={step}: {diff}"
        report.applied += results.count(TransferResult.OK)
        clock.advance(timedelta(seconds=rng.choice([0, 1, 3, 10, 40])))
        if rng.random() < 0.2:
            expired = ledger.expire_due(actor="tests")
            assert expired == model.expire(clock.now()), f"seed={seed} step={step}"
            report.expired += expired
        if rng.random() < 0.03:
            store = FaultyStore(open_store())  # a restart: nothing survives but storage
            ledger = LedgerService(store, clock)
            report.restarts += 1
        if step % compare_every == 0 or step == batches - 1:
            check_invariants(ledger)
            actual = {
                a.id: (a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted)
                for a in ledger.lookup_accounts([a.id for a in ACCOUNTS])
            }
            assert actual == model.totals(), f"seed={seed} step={step}"
    return report
