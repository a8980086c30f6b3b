"""Coalesce concurrent single requests into batches, so callers get batch throughput for free.

Requests queue up while the previous batch commits; the worker then takes everything waiting
(up to 8,190 events) as the next batch. Under light load a request goes alone and waits for
nothing; under heavy load batches fill up by themselves. This is group commit: no timer, no
linger, no added latency beyond the one commit a request needs anyway.

A linked chain is submitted whole and never split across batches. Between batches the worker
also releases expired pending transfers, so a process that serves the ledger needs no other
timer.

What a request costs besides the ledger's own work sets the batcher's ceiling, so the hot path
is lean: queuing takes one uncontended lock and wakes the worker only if it sleeps; coroutines
wait on ``asyncio`` futures that the worker answers with one call into their loop per batch;
a blocked thread waits on a bare lock rather than a ``Future``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from baobab.infra.waiters import answer_all
from baobab.kernel.errors import Unavailable
from baobab.ledger.domain import MAX_BATCH, NewTransfer, Transfer, TransferFlags
from baobab.ledger.errors import LedgerError, TransferResult
from baobab.ledger.services import LedgerService

_LINKED = int(TransferFlags.LINKED)
EXPIRY_ACTOR = "ledger:expiry"  # who the audit trail names for expiries the worker sweeps
_MAX_ACTOR = 300  # the audit trail's limit
_log = logging.getLogger(__name__)


class _Request:
    """Queued events and who waits for them: one outcome (single) or a list (group).

    ``waiter`` is a :class:`concurrent.futures.Future`, a :class:`_Waiter` or an :mod:`asyncio`
    future.
    """

    __slots__ = ("actor", "events", "group", "waiter")

    def __init__(
        self,
        events: list[NewTransfer],
        waiter: Future[Any] | asyncio.Future[Any] | _Waiter,
        *,
        group: bool,
        actor: str,
    ) -> None:
        self.events = events
        self.waiter = waiter
        self.group = group
        self.actor = actor


class _Waiter:
    """Where a blocked thread waits for its answer: one lock, lighter than a ``Future``."""

    __slots__ = ("_failed", "_lock", "_value")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()  # held until the answer is in
        self._value: Any = None
        self._failed = False

    def set_result(self, value: Any) -> None:
        self._value = value
        self._lock.release()

    def set_exception(self, error: BaseException) -> None:
        self._value = error
        self._failed = True
        self._lock.release()

    def wait(self, timeout: float | None) -> Any:
        if not self._lock.acquire(timeout=-1 if timeout is None else timeout):
            raise TimeoutError("the ledger batcher did not answer in time")
        if self._failed:
            raise self._value
        return self._value


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one event got: its result and, when it was applied now, the recorded transfer."""

    result: TransferResult
    transfer: Transfer | None


class BatcherClosed(LedgerError, Unavailable):
    """The batcher was closed; the request was not applied."""

    code = "ledger.batcher_closed"
    title = "Ledger batcher closed"


class TransferBatcher:
    """One worker thread applying queued requests in batches through a :class:`LedgerService`.

    Thread-safe: call :meth:`submit` or :meth:`submit_chain` from any thread; they return
    futures. Coroutines await :meth:`transfer` or :meth:`transfer_chain` instead, which cost a
    request far less than a thread blocked on a future. ``expire_every`` (seconds, 0 = never)
    sets how often the worker sweeps expired pending transfers.
    """

    def __init__(
        self,
        ledger: LedgerService,
        *,
        max_batch: int = MAX_BATCH,
        expire_every: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 1 <= max_batch <= MAX_BATCH:
            raise ValueError(f"max_batch must be within 1..{MAX_BATCH}")
        self._ledger = ledger
        self._max_batch = max_batch
        self._expire_every = expire_every
        self._monotonic = monotonic
        self._queue: deque[_Request] = deque()
        # A plain lock guards the queue; the worker is signalled only when it sleeps, so a
        # request under load costs one uncontended lock, not a wake-up.
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._sleeping = False
        self._closed = False
        self._last_sweep = monotonic()
        self.batches = 0  # how many batches were committed; for tests and metrics
        # One worker: batches of hot accounts serialise on their row locks anyway, and a second
        # worker measured slower with threads (smaller batches, the same locks) and no faster
        # with coroutines.
        self._worker = threading.Thread(target=self._run, name="ledger-batcher", daemon=True)
        self._worker.start()

    def submit(self, event: NewTransfer, *, actor: str) -> Future[Outcome]:
        """Queue one transfer; the future resolves once its batch has committed.

        A lone event may not carry the ``linked`` flag: it would chain with a stranger's event.
        It gets ``linked_event_chain_open`` at once, as it would at the end of a batch.
        """
        single: Future[Outcome] = Future()
        refused = _refused_single(event)
        if refused is not None:
            single.set_result(refused)
            return single
        self._enqueue(_Request([event], single, group=False, actor=actor))
        return single

    def submit_chain(self, events: Sequence[NewTransfer], *, actor: str) -> Future[list[Outcome]]:
        """Queue events that must stay together in one batch (a linked chain, or any group)."""
        future: Future[list[Outcome]] = Future()
        try:
            refused = self._refused_group(events)
        except ValueError as exc:
            future.set_exception(exc)
            return future
        if refused is not None:
            future.set_result(refused)
            return future
        self._enqueue(_Request(list(events), future, group=True, actor=actor))
        return future

    async def transfer(self, event: NewTransfer, *, actor: str) -> Outcome:
        """Apply one transfer from a coroutine: :meth:`submit` for an event loop.

        The worker answers every request of a batch waiting on one loop with a single call into
        that loop. Cancelling the awaiting task does not withdraw a request already queued.
        """
        refused = _refused_single(event)
        if refused is not None:
            return refused
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Outcome] = loop.create_future()
        self._enqueue(_Request([event], waiter, group=False, actor=actor))
        return await waiter

    async def transfer_chain(self, events: Sequence[NewTransfer], *, actor: str) -> list[Outcome]:
        """Apply events that must stay together from a coroutine: :meth:`submit_chain`."""
        refused = self._refused_group(events)
        if refused is not None:
            return refused
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[list[Outcome]] = loop.create_future()
        self._enqueue(_Request(list(events), waiter, group=True, actor=actor))
        return await waiter

    def _refused_group(self, events: Sequence[NewTransfer]) -> list[Outcome] | None:
        if not 1 <= len(events) <= self._max_batch:
            raise ValueError(f"a group holds 1..{self._max_batch} events, got {len(events)}")
        if int(events[-1].flags) & _LINKED:
            # Left open, the chain would swallow the next caller's events: refuse it here.
            results = [TransferResult.LINKED_EVENT_FAILED] * (len(events) - 1)
            results.append(TransferResult.LINKED_EVENT_CHAIN_OPEN)
            return [Outcome(result, None) for result in results]
        return None

    def _enqueue(self, request: _Request) -> None:
        with self._lock:
            if self._closed:
                raise BatcherClosed("the ledger batcher is closed")
            self._queue.append(request)
            if not self._sleeping:
                return  # the worker is busy and takes the queue when it is done
            self._sleeping = False
        self._wake.set()

    def create_transfer(
        self, event: NewTransfer, *, actor: str, timeout: float | None = None
    ) -> Outcome:
        """Submit one transfer and wait for its outcome (``TimeoutError`` after ``timeout``)."""
        refused = _refused_single(event)
        if refused is not None:
            return refused
        waiter = _Waiter()
        self._enqueue(_Request([event], waiter, group=False, actor=actor))
        result: Outcome = waiter.wait(timeout)
        return result

    def close(self, *, timeout: float | None = 30.0) -> None:
        """Apply what is queued, then stop the worker."""
        with self._lock:
            self._closed = True
            self._sleeping = False
        self._wake.set()
        self._worker.join(timeout)

    def _take(self) -> list[_Request] | None:
        """The next batch of requests; ``[]`` when it is time to sweep; ``None`` once closed."""
        with self._lock:
            idle = not self._queue and not self._closed
            if idle:
                self._sleeping = True
                self._wake.clear()
        if idle:
            wait = None
            if self._expire_every:
                wait = max(0.0, self._last_sweep + self._expire_every - self._monotonic())
            woken = self._wake.wait(wait)
            with self._lock:
                self._sleeping = False
            if not woken:
                return []  # time to sweep
        taken: list[_Request] = []
        size = 0
        with self._lock:
            queue = self._queue
            if not queue:
                return None if self._closed else []
            while queue and size + len(queue[0].events) <= self._max_batch:
                request = queue.popleft()
                taken.append(request)
                size += len(request.events)
        return taken

    def _run(self) -> None:
        while True:
            taken = self._take()
            if taken is None:
                return
            if taken:
                self._apply(taken)  # never raises: every failure goes to the waiting callers
            if not self._expire_every:
                continue
            if self._monotonic() - self._last_sweep >= self._expire_every:
                self._last_sweep = self._monotonic()
                try:
                    self._ledger.expire_due(actor=EXPIRY_ACTOR)
                except Exception:
                    # The next sweep retries; requests must go on meanwhile.
                    _log.exception("expiring pending transfers failed")

    def _apply(self, taken: list[_Request]) -> None:
        events = [event for request in taken for event in request.events]
        try:
            outcome = self._ledger.run_batch(events, actor=_actors(taken))
        except BaseException as exc:  # every waiting caller must hear of it
            _settle(taken, [exc] * len(taken), failed=True)
            return
        self.batches += 1
        applied = {record.id: record for record in outcome.records if record.succeeded}
        results = outcome.results
        ok = TransferResult.OK
        answers: list[Any] = []
        position = 0
        for request in taken:
            if request.group:
                group = []
                for event in request.events:
                    result = results[position]
                    position += 1
                    group.append(Outcome(result, applied.get(event.id) if result is ok else None))
                answers.append(group)
            else:
                result = results[position]
                position += 1
                record = applied.get(request.events[0].id) if result is ok else None
                answers.append(Outcome(result, record))
        _settle(taken, answers, failed=False)


def _refused_single(event: NewTransfer) -> Outcome | None:
    if int(event.flags) & _LINKED:
        return Outcome(TransferResult.LINKED_EVENT_CHAIN_OPEN, None)
    return None


def _settle(taken: list[_Request], answers: list[Any], *, failed: bool) -> None:
    """Hand every request its answer (each event loop in one call; see :func:`answer_all`)."""
    answer_all(
        (request.waiter, answer, failed) for request, answer in zip(taken, answers, strict=True)
    )


def _actors(taken: list[_Request]) -> str:
    """Who a coalesced batch acts for: every caller, as far as the audit trail has room."""
    actors = sorted({request.actor for request in taken})
    joined = ",".join(actors)
    if len(joined) <= _MAX_ACTOR:
        return joined
    return f"{len(actors)} callers: {joined}"[: _MAX_ACTOR - 3] + "..."
