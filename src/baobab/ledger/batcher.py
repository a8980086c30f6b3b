"""Coalesce concurrent single requests into batches, so callers get batch throughput for free.

Requests queue up while the previous batch commits; the worker then takes everything waiting
(up to 8,190 events) as the next batch. Under light load a request goes alone and waits for
nothing; under heavy load batches fill up by themselves. This is group commit: no timer, no
linger, no added latency beyond the one commit a request needs anyway.

A linked chain is submitted whole and never split across batches. Between batches the worker
also releases expired pending transfers, so a process that serves the ledger needs no other
timer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from baobab.kernel.errors import Unavailable
from baobab.ledger.domain import MAX_BATCH, NewTransfer, Transfer, TransferFlags
from baobab.ledger.errors import LedgerError, TransferResult
from baobab.ledger.services import LedgerService

_LINKED = int(TransferFlags.LINKED)
EXPIRY_ACTOR = "ledger:expiry"  # who the audit trail names for expiries the worker sweeps
_MAX_ACTOR = 300  # the audit trail's limit
_log = logging.getLogger(__name__)


class _Request:
    """Queued events and who waits for them: one outcome (submit) or a list (submit_chain)."""

    __slots__ = ("actor", "events", "future", "group")

    def __init__(
        self, events: list[NewTransfer], future: Future[Any], *, group: bool, actor: str
    ) -> None:
        self.events = events
        self.future = future
        self.group = group
        self.actor = actor


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
    futures. ``expire_every`` (seconds, 0 = never) sets how often the worker sweeps expired
    pending transfers.
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
        self._ready = threading.Condition()
        self._closed = False
        self._last_sweep = monotonic()
        self.batches = 0  # how many batches were committed; for tests and metrics
        # One worker: batches of hot accounts serialise on their row locks anyway, and a second
        # worker measured slower (smaller batches, the same locks).
        self._worker = threading.Thread(target=self._run, name="ledger-batcher", daemon=True)
        self._worker.start()

    def submit(self, event: NewTransfer, *, actor: str) -> Future[Outcome]:
        """Queue one transfer; the future resolves once its batch has committed.

        A lone event may not carry the ``linked`` flag: it would chain with a stranger's event.
        It gets ``linked_event_chain_open`` at once, as it would at the end of a batch.
        """
        single: Future[Outcome] = Future()
        if int(event.flags) & _LINKED:
            single.set_result(Outcome(TransferResult.LINKED_EVENT_CHAIN_OPEN, None))
            return single
        self._enqueue(_Request([event], single, group=False, actor=actor))
        return single

    def submit_chain(self, events: Sequence[NewTransfer], *, actor: str) -> Future[list[Outcome]]:
        """Queue events that must stay together in one batch (a linked chain, or any group)."""
        future: Future[list[Outcome]] = Future()
        if not 1 <= len(events) <= self._max_batch:
            future.set_exception(
                ValueError(f"a group holds 1..{self._max_batch} events, got {len(events)}")
            )
            return future
        if int(events[-1].flags) & _LINKED:
            # Left open, the chain would swallow the next caller's events: refuse it here.
            results = [TransferResult.LINKED_EVENT_FAILED] * (len(events) - 1)
            results.append(TransferResult.LINKED_EVENT_CHAIN_OPEN)
            future.set_result([Outcome(result, None) for result in results])
            return future
        self._enqueue(_Request(list(events), future, group=True, actor=actor))
        return future

    def _enqueue(self, request: _Request) -> None:
        with self._ready:
            if self._closed:
                raise BatcherClosed("the ledger batcher is closed")
            self._queue.append(request)
            self._ready.notify()

    def create_transfer(
        self, event: NewTransfer, *, actor: str, timeout: float | None = None
    ) -> Outcome:
        """Submit one transfer and wait for its outcome."""
        return self.submit(event, actor=actor).result(timeout)

    def close(self, *, timeout: float | None = 30.0) -> None:
        """Apply what is queued, then stop the worker."""
        with self._ready:
            self._closed = True
            self._ready.notify()
        self._worker.join(timeout)

    def _take(self) -> list[_Request] | None:
        with self._ready:
            while not self._queue and not self._closed:
                wait = None
                if self._expire_every:
                    wait = max(0.0, self._last_sweep + self._expire_every - self._monotonic())
                if not self._ready.wait(wait):
                    return []  # woke for the sweep, nothing queued
            if not self._queue:
                return None  # closed and drained
            taken: list[_Request] = []
            size = 0
            while self._queue and size + len(self._queue[0].events) <= self._max_batch:
                request = self._queue.popleft()
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
            for request in taken:
                request.future.set_exception(exc)
            return
        self.batches += 1
        applied = {record.id: record for record in outcome.records if record.succeeded}
        results = outcome.results
        position = 0
        for request in taken:
            answers = []
            for event in request.events:
                result = results[position]
                position += 1
                record = applied.get(event.id) if result is TransferResult.OK else None
                answers.append(Outcome(result, record))
            request.future.set_result(answers if request.group else answers[0])


def _actors(taken: list[_Request]) -> str:
    """Who a coalesced batch acts for: every caller, as far as the audit trail has room."""
    actors = sorted({request.actor for request in taken})
    joined = ",".join(actors)
    if len(joined) <= _MAX_ACTOR:
        return joined
    return f"{len(actors)} callers: {joined}"[: _MAX_ACTOR - 3] + "..."
