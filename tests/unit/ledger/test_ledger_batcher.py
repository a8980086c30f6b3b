"""The batcher: concurrent single requests become batches; chains stay whole; errors reach all."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from baobab.kernel.clock import ManualClock
from baobab.ledger import (
    AccountKind,
    LedgerService,
    NewAccount,
    NewTransfer,
    TransferFlags,
    TransferResult,
)
from baobab.ledger.batcher import BatcherClosed, Outcome, TransferBatcher
from tests.unit.ledger.fakes import InMemoryLedgerStore, InMemorySession

R = TransferResult


class GatedStore(InMemoryLedgerStore):
    """Holds the first unit of work until ``gate`` opens, so later requests pile up."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.fail: Exception | None = None

    @contextmanager
    def unit(self) -> Iterator[InMemorySession]:
        self.entered.set()
        self.gate.wait(10)
        if self.fail is not None:
            raise self.fail
        with super().unit() as session:
            yield session


@pytest.fixture
def store() -> GatedStore:
    store = GatedStore()
    store.gate.set()
    ledger = LedgerService(store, ManualClock(datetime(2026, 1, 1, tzinfo=UTC)))
    ledger.create_accounts(
        [
            NewAccount("a", "USD", AccountKind.SETTLEMENT, "o"),
            NewAccount("b", "USD", AccountKind.POSITION, "o"),
        ],
        actor="tests",
    )
    store.entered.clear()
    store.gate.clear()
    return store


def test_requests_waiting_behind_a_commit_go_together(store: GatedStore) -> None:
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    batcher = TransferBatcher(LedgerService(store, clock), expire_every=0)
    first = batcher.submit(NewTransfer("t0", "a", "b", 1, "USD"), actor="tests")
    assert store.entered.wait(5)
    # While the first batch is held, fifty more requests (and a duplicate) queue up.
    later = [
        batcher.submit(NewTransfer(f"t{i}", "a", "b", 1, "USD"), actor="tests")
        for i in range(1, 51)
    ]
    duplicate = batcher.submit(NewTransfer("t7", "a", "b", 1, "USD"), actor="tests")
    store.gate.set()
    assert first.result(5).result is R.OK
    outcomes = [f.result(5) for f in later]
    assert all(o.result is R.OK for o in outcomes)
    assert [o.transfer.id for o in outcomes if o.transfer] == [f"t{i}" for i in range(1, 51)]
    assert duplicate.result(5).result is R.EXISTS
    batcher.close()
    assert batcher.batches == 2
    assert store.state.accounts["b"].credits_posted == 51


def test_a_lone_linked_event_and_an_open_chain_are_refused(store: GatedStore) -> None:
    store.gate.set()
    batcher = TransferBatcher(
        LedgerService(store, ManualClock(datetime(2026, 1, 1, tzinfo=UTC))), expire_every=0
    )
    linked = NewTransfer("l1", "a", "b", 1, "USD", flags=TransferFlags.LINKED)
    assert batcher.create_transfer(linked, actor="tests").result is R.LINKED_EVENT_CHAIN_OPEN
    open_chain = batcher.submit_chain([linked, linked], actor="tests").result(5)
    assert [o.result for o in open_chain] == [R.LINKED_EVENT_FAILED, R.LINKED_EVENT_CHAIN_OPEN]
    chain = batcher.submit_chain(
        [linked, NewTransfer("l2", "a", "b", 2, "USD")], actor="tests"
    ).result(5)
    assert [o.result for o in chain] == [R.OK, R.OK]
    batcher.close()
    assert store.state.accounts["b"].credits_posted == 3


def test_a_failing_batch_fails_every_waiting_caller(store: GatedStore) -> None:
    store.fail = RuntimeError("database down")
    batcher = TransferBatcher(
        LedgerService(store, ManualClock(datetime(2026, 1, 1, tzinfo=UTC))), expire_every=0
    )
    futures = [
        batcher.submit(NewTransfer(f"t{i}", "a", "b", 1, "USD"), actor="tests") for i in range(5)
    ]
    store.gate.set()
    for future in futures:
        with pytest.raises(RuntimeError, match="database down"):
            future.result(5)
    store.fail = None
    assert (
        batcher.create_transfer(
            NewTransfer("t0", "a", "b", 1, "USD"), timeout=5, actor="tests"
        ).result
        is R.OK
    )
    batcher.close()
    with pytest.raises(BatcherClosed):
        batcher.submit(NewTransfer("late", "a", "b", 1, "USD"), actor="tests")


def test_the_worker_sweeps_expired_pending_transfers(store: GatedStore) -> None:
    store.gate.set()
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    batcher = TransferBatcher(LedgerService(store, clock), expire_every=0.01)
    pending = NewTransfer("p", "a", "b", 5, "USD", flags=TransferFlags.PENDING, timeout=10)
    assert batcher.create_transfer(pending, timeout=5, actor="tests").result is R.OK
    assert store.state.accounts["a"].debits_pending == 5
    clock.advance(timedelta(seconds=11))
    deadline = threading.Event()
    for _ in range(500):
        if store.state.accounts["a"].debits_pending == 0:
            break
        deadline.wait(0.01)
    batcher.close()
    assert store.state.accounts["a"].debits_pending == 0
    assert "p~expired" in store.state.transfers


def test_max_batch_is_checked() -> None:
    ledger = LedgerService(InMemoryLedgerStore(), ManualClock(datetime(2026, 1, 1, tzinfo=UTC)))
    with pytest.raises(ValueError, match="max_batch"):
        TransferBatcher(ledger, max_batch=8_191)


def test_a_coalesced_batch_names_every_caller_in_the_audit_trail(store: GatedStore) -> None:
    batcher = TransferBatcher(
        LedgerService(store, ManualClock(datetime(2026, 1, 1, tzinfo=UTC))), expire_every=0
    )
    first = batcher.submit(NewTransfer("t0", "a", "b", 1, "USD"), actor="first")
    assert store.entered.wait(5)
    later = [
        batcher.submit(NewTransfer(f"t{i}", "a", "b", 1, "USD"), actor=f"caller-{i % 3}")
        for i in range(1, 7)
    ]
    store.gate.set()
    first.result(5)
    for future in later:
        future.result(5)
    batcher.close()
    actors = [e.actor for e in store.state.audit if e.action == "ledger.transfers_applied"]
    assert actors == ["first", "caller-0,caller-1,caller-2"]


def _batcher(store: GatedStore) -> TransferBatcher:
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    return TransferBatcher(LedgerService(store, clock), expire_every=0)


def test_coroutines_waiting_behind_a_commit_go_together_with_threads(store: GatedStore) -> None:
    batcher = _batcher(store)
    first = batcher.submit(NewTransfer("t0", "a", "b", 1, "USD"), actor="tests")
    assert store.entered.wait(5)
    settle_calls: list[str] = []

    async def callers() -> tuple[list[Outcome], list[Outcome], Outcome, Outcome]:
        loop = asyncio.get_running_loop()
        forward = loop.call_soon_threadsafe

        def counting(callback: Any, *args: Any, **kwargs: Any) -> Any:
            settle_calls.append(getattr(callback, "__name__", "?"))
            return forward(callback, *args, **kwargs)

        loop.call_soon_threadsafe = counting  # type: ignore[method-assign,assignment]
        singles = [
            asyncio.ensure_future(
                batcher.transfer(NewTransfer(f"t{i}", "a", "b", 1, "USD"), actor="tests")
            )
            for i in range(1, 41)
        ]
        chain = asyncio.ensure_future(
            batcher.transfer_chain(
                [
                    NewTransfer("c1", "a", "b", 2, "USD", flags=TransferFlags.LINKED),
                    NewTransfer("c2", "a", "b", 3, "USD"),
                ],
                actor="tests",
            )
        )
        duplicate = asyncio.ensure_future(
            batcher.transfer(NewTransfer("t7", "a", "b", 1, "USD"), actor="tests")
        )
        await asyncio.sleep(0)  # every coroutine has queued its request
        # A thread's request joins the same batch as the coroutines'.
        threaded = batcher.submit(NewTransfer("t41", "a", "b", 1, "USD"), actor="tests")
        store.gate.set()
        outcomes = [await task for task in singles]
        return outcomes, await chain, await duplicate, threaded.result(5)

    singles, chain, duplicate, threaded = asyncio.run(callers())
    assert first.result(5).result is R.OK
    assert [o.result for o in singles] == [R.OK] * 40
    assert [o.transfer.id for o in singles if o.transfer] == [f"t{i}" for i in range(1, 41)]
    assert [o.result for o in chain] == [R.OK, R.OK]
    assert duplicate.result is R.EXISTS
    assert threaded.result is R.OK
    batcher.close()
    assert batcher.batches == 2
    assert settle_calls.count("_settle_in_loop") == 1  # one call into the loop for the batch
    assert store.state.accounts["b"].credits_posted == 1 + 40 + 5 + 1


def test_coroutines_hear_of_a_failing_batch_and_of_refusals(store: GatedStore) -> None:
    store.fail = RuntimeError("database down")
    batcher = _batcher(store)
    linked = NewTransfer("l1", "a", "b", 1, "USD", flags=TransferFlags.LINKED)

    async def callers() -> None:
        waiting = [
            asyncio.ensure_future(
                batcher.transfer(NewTransfer(f"t{i}", "a", "b", 1, "USD"), actor="tests")
            )
            for i in range(3)
        ]
        await asyncio.sleep(0)
        store.gate.set()
        for task in waiting:
            with pytest.raises(RuntimeError, match="database down"):
                await task
        # Refused before anything is queued: a lone linked event, an open chain, no events.
        assert (await batcher.transfer(linked, actor="tests")).result is R.LINKED_EVENT_CHAIN_OPEN
        open_chain = await batcher.transfer_chain([linked, linked], actor="tests")
        assert [o.result for o in open_chain] == [R.LINKED_EVENT_FAILED, R.LINKED_EVENT_CHAIN_OPEN]
        with pytest.raises(ValueError, match="a group holds"):
            await batcher.transfer_chain([], actor="tests")

    asyncio.run(callers())
    batcher.close()
    assert batcher.batches == 0
    assert store.state.accounts["b"].credits_posted == 0
    with pytest.raises(BatcherClosed):
        asyncio.run(batcher.transfer(NewTransfer("late", "a", "b", 1, "USD"), actor="tests"))


def test_a_cancelled_coroutine_s_transfer_is_still_applied(store: GatedStore) -> None:
    batcher = _batcher(store)

    async def callers() -> R:
        task = asyncio.ensure_future(
            batcher.transfer(NewTransfer("gone", "a", "b", 4, "USD"), actor="tests")
        )
        await asyncio.sleep(0)
        task.cancel()
        store.gate.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The worker answered a cancelled waiter without failing: the next request goes on.
        return (
            await batcher.transfer(NewTransfer("next", "a", "b", 1, "USD"), actor="tests")
        ).result

    assert asyncio.run(callers()) is R.OK
    batcher.close()
    assert "gone" in store.state.transfers
    assert store.state.accounts["b"].credits_posted == 5


def test_a_thread_waiting_too_long_times_out_and_the_transfer_still_applies(
    store: GatedStore,
) -> None:
    batcher = _batcher(store)
    with pytest.raises(TimeoutError):
        batcher.create_transfer(
            NewTransfer("slow", "a", "b", 1, "USD"), actor="tests", timeout=0.05
        )
    store.gate.set()
    assert (
        batcher.create_transfer(
            NewTransfer("slow", "a", "b", 1, "USD"), actor="tests", timeout=5
        ).result
        is R.EXISTS
    )  # the request that timed out was applied all the same
    batcher.close()
    assert store.state.accounts["b"].credits_posted == 1
