"""Races only a real database can lose: many workers on the same accounts, on PostgreSQL."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from baobab.infra.database import Database
from baobab.kernel.clock import SystemClock
from baobab.ledger import (
    AccountFlags,
    AccountKind,
    LedgerService,
    NewAccount,
    NewTransfer,
    TransferFlags,
    TransferResult,
)
from baobab.ledger.adapters.sql import SqlLedgerStore
from baobab.ledger.adapters.tables import transfers
from baobab.ledger.batcher import TransferBatcher

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]

R = TransferResult
WALLET = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
HOT = [f"hot-{i}" for i in range(4)]


def open_hot_accounts(ledger: LedgerService, funds: int) -> None:
    ledger.create_accounts(
        [NewAccount("bank", "USD", AccountKind.SETTLEMENT, "bank")]
        + [NewAccount(a, "USD", AccountKind.POSITION, a, WALLET) for a in HOT],
        actor="tests",
    )
    assert ledger.create_transfers(
        [NewTransfer(f"fund-{a}", "bank", a, funds, "USD") for a in HOT], actor="tests"
    ) == [R.OK] * len(HOT)


def run_threads(count: int, work: Callable[[int], None]) -> None:
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            work(index)
        except BaseException as exc:  # every failure is reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def check_books(ledger: LedgerService, db: Database, applied: dict[str, int]) -> None:
    accounts = ledger.lookup_accounts(["bank", *HOT])
    assert sum(a.debits_posted for a in accounts) == sum(a.credits_posted for a in accounts)
    assert sum(a.debits_pending for a in accounts) == sum(a.credits_pending for a in accounts)
    for account in accounts:
        if account.id != "bank":
            assert account.debits_posted + account.debits_pending <= account.credits_posted
            assert account.balance().available >= 0
    with db.transaction() as connection:
        stored = connection.execute(
            select(func.count(), func.coalesce(func.sum(transfers.c.amount), 0)).where(
                transfers.c.result == "ok", transfers.c.id.not_like("fund-%")
            )
        ).one()
    assert stored == (len(applied), sum(applied.values()))


def test_many_workers_never_overdraw_a_limited_account(ledger_db: Database) -> None:
    ledger = LedgerService(SqlLedgerStore(ledger_db), SystemClock())
    open_hot_accounts(ledger, funds=1_000)
    applied: dict[str, int] = {}
    lock = threading.Lock()

    def work(worker: int) -> None:
        rng = random.Random(worker)
        mine = LedgerService(SqlLedgerStore(ledger_db), SystemClock())
        for n in range(12):
            size = rng.randint(1, 6)
            batch = []
            for k in range(size):
                debit, credit = rng.sample(HOT, 2)
                flags = TransferFlags.PENDING if rng.random() < 0.3 else TransferFlags.NONE
                batch.append(
                    NewTransfer(f"w{worker}-{n}-{k}", debit, credit, rng.randint(50, 400), "USD",
                                flags=flags)
                )  # fmt: skip
            for event, result in zip(
                batch, mine.create_transfers(batch, actor="tests"), strict=True
            ):
                assert result in (R.OK, R.EXCEEDS_CREDITS), result
                if result is R.OK:
                    with lock:
                        applied[event.id] = event.amount or 0

    run_threads(12, work)
    assert len(applied) > 20
    check_books(ledger, ledger_db, applied)


def test_concurrent_duplicates_apply_once(ledger_db: Database) -> None:
    ledger = LedgerService(SqlLedgerStore(ledger_db), SystemClock())
    open_hot_accounts(ledger, funds=10_000)
    events = [NewTransfer(f"dup-{i}", HOT[i % 4], HOT[(i + 1) % 4], 10, "USD") for i in range(40)]
    results: list[list[TransferResult]] = []
    lock = threading.Lock()

    def work(worker: int) -> None:
        mine = LedgerService(SqlLedgerStore(ledger_db), SystemClock())
        # Every worker sends the same ids, in its own order, so inserts cross each other.
        batch = random.Random(worker).sample(events, len(events))
        got = mine.create_transfers(batch, actor="tests")
        by_id = dict(zip((e.id for e in batch), got, strict=True))
        with lock:
            results.append([by_id[e.id] for e in events])

    run_threads(8, work)
    for i in range(len(events)):
        column = [r[i] for r in results]
        assert column.count(R.OK) == 1
        assert column.count(R.EXISTS) == 7
    check_books(ledger, ledger_db, {e.id: 10 for e in events})


def test_the_batcher_under_many_callers(ledger_db: Database) -> None:
    ledger = LedgerService(SqlLedgerStore(ledger_db), SystemClock())
    open_hot_accounts(ledger, funds=2_000)
    batcher = TransferBatcher(ledger, expire_every=0)
    applied: dict[str, int] = {}
    lock = threading.Lock()

    def call(i: int) -> None:
        debit, credit = HOT[i % 4], HOT[(i * 7 + 1) % 4]
        if debit == credit:
            credit = HOT[(i + 1) % 4]
        event = NewTransfer(f"b{i}", debit, credit, 37, "USD")
        outcome = batcher.create_transfer(event, timeout=30, actor="tests")
        assert outcome.result in (R.OK, R.EXCEEDS_CREDITS)
        if outcome.result is R.OK:
            assert outcome.transfer is not None
            with lock:
                applied[event.id] = 37

    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(call, range(600)))
    batcher.close()
    assert batcher.batches < 600  # requests were coalesced
    check_books(ledger, ledger_db, applied)


def test_coroutines_through_the_batcher(ledger_db: Database) -> None:
    ledger = LedgerService(SqlLedgerStore(ledger_db), SystemClock())
    open_hot_accounts(ledger, funds=2_000)
    batcher = TransferBatcher(ledger, expire_every=0)
    applied: dict[str, int] = {}

    async def call(i: int) -> None:
        debit, credit = HOT[i % 4], HOT[(i + 1 + i // 4) % 4]
        if debit == credit:
            credit = HOT[(i + 1) % 4]
        event = NewTransfer(f"a{i}", debit, credit, 37, "USD")
        outcome = await batcher.transfer(event, actor="tests")
        assert outcome.result in (R.OK, R.EXCEEDS_CREDITS)
        if outcome.result is R.OK:
            assert outcome.transfer is not None
            applied[event.id] = 37

    async def callers() -> None:
        await asyncio.gather(*(call(i) for i in range(600)))

    asyncio.run(callers())
    batcher.close()
    assert batcher.batches < 100  # six hundred coroutines made a handful of batches
    check_books(ledger, ledger_db, applied)


def test_paging_history_while_batches_commit_skips_nothing(ledger_db: Database) -> None:
    """A transfer gets its place in history while its batch holds its accounts' locks, so a
    reader paging one account's history from its cursor never misses a later commit."""
    ledger = LedgerService(SqlLedgerStore(ledger_db), SystemClock())
    open_hot_accounts(ledger, funds=10**9)
    writers_done = threading.Event()
    read: list[str] = []

    def write(worker: int) -> None:
        rng = random.Random(worker)
        for batch in range(12):
            pairs = [rng.sample(HOT, 2) for _ in range(25)]
            events = [
                NewTransfer(f"w{worker}-{batch}-{i}", debit, credit, 1, "USD")
                for i, (debit, credit) in enumerate(pairs)
            ]
            assert set(ledger.create_transfers(events, actor="tests")) == {R.OK}

    def page_along() -> None:
        after = 0
        while True:
            done = writers_done.is_set()  # read before the page: a last full pass follows
            page = ledger.history("hot-0", after=after, limit=7)
            read.extend(t.id for t in page.transfers)
            if page.transfers:
                after = page.transfers[-1].sequence or after
            elif done:
                return

    reader = threading.Thread(target=page_along)
    reader.start()
    try:
        run_threads(6, write)
    finally:
        writers_done.set()
        reader.join()
    everything: list[str] = []
    after = 0
    while True:
        page = ledger.history("hot-0", after=after, limit=1000)
        everything.extend(t.id for t in page.transfers)
        if page.next_after is None:
            break
        after = page.next_after
    assert len(read) == len(set(read))
    assert read == everything
    assert len(everything) > 100
