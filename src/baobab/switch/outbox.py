"""The callback outbox's delivery worker: sends what the hub owes FSPs, at least once.

Callbacks are rows written in the same transaction as the state change that owes them. The
worker claims due rows (leasing them, so another hub process skips them), sends them
concurrently, deletes those the FSP accepted (any 2xx) and reschedules the rest after
``base * 2**attempts`` (capped); after ``max_attempts`` or on a 4xx other than 408/429 a row is
marked failed and kept for the operator. Between rounds it runs the transfer sweep.

Callbacks committed by this process are handed over in memory (:meth:`hand_over`) and sent at
once; the store leased them when it wrote them, so no other worker claims them meanwhile, and
the table is only scanned for what is due (retries, and what a dead process left behind).
Answers an FSP asks again for when one is lost (party lookups) are not written at all
(:meth:`send_unrecorded`): sent from memory, they reach the table only if they fail.

Deleting what was delivered can be grouped (``mark_every`` seconds, 0: every round): the rows
are leased meanwhile, so nothing is sent twice unless the process dies before the delete - which
at-least-once delivery allows. Retries and failures are always recorded at once.

The worker runs in a thread of its own with its own event loop (uvloop's where installed);
:meth:`wake` (thread-safe) cuts its idle wait short when a request handler has just queued
callbacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime, timedelta

from baobab.infra.loops import new_event_loop
from baobab.kernel.clock import Clock
from baobab.switch.domain import Callback
from baobab.switch.ports import CallbackSender, PendingCallback, SwitchStore

_log = logging.getLogger(__name__)
_RETRYABLE_4XX = (408, 425, 429)


class CallbackWorker:
    """Delivers the outbox; ``sweep`` (if given) runs every ``sweep_every`` seconds."""

    def __init__(
        self,
        *,
        store: SwitchStore,
        sender: CallbackSender,
        clock: Clock,
        sweep: Callable[[], int] | None = None,
        batch: int = 256,
        lease: timedelta = timedelta(seconds=30),
        base_backoff: timedelta = timedelta(milliseconds=500),
        max_backoff: timedelta = timedelta(minutes=5),
        max_attempts: int = 12,
        timeout: float = 10.0,
        idle_wait: float = 0.5,
        sweep_every: float = 1.0,
        mark_every: float = 0.0,
    ) -> None:
        self._store = store
        self._sender = sender
        self._clock = clock
        self.sweep = sweep
        self._batch = batch
        self._lease = lease
        self._base = base_backoff
        self._max_backoff = max_backoff
        self._max_attempts = max_attempts
        self._timeout = timeout
        self._idle_wait = idle_wait
        self._sweep_every = sweep_every
        if mark_every >= lease.total_seconds():
            raise ValueError("mark_every must be shorter than the lease")
        self._mark_every = mark_every
        self._delivered: list[int] = []
        self._last_mark = time.monotonic()
        self._inbox: deque[PendingCallback] = deque()
        self._scan_every = idle_wait
        self._last_scan = 0.0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None
        # True while the worker waits for work: only then does handing over wake it (a wake-up
        # is a call into its loop); a busy worker takes the inbox when its round ends.
        self._waiting = False
        self._stopping = False

    def hand_over(self, items: Sequence[PendingCallback]) -> None:
        """Callbacks just committed (and leased) by this process: send them without claiming
        them (safe from any thread)."""
        self._inbox.extend(items)
        self._nudge()

    def send_unrecorded(self, callbacks: Sequence[Callback]) -> None:
        """Callbacks not in the table: sent from memory, written to the table only if they
        fail (safe from any thread). For answers an FSP asks again for when one is lost (party
        lookups), so a crash that loses them loses nothing it relied on."""
        self._inbox.extend(PendingCallback(None, callback, 0) for callback in callbacks)
        self._nudge()

    async def deliver_due(self) -> int:
        """One round: the callbacks handed over plus those due in the table, sent concurrently,
        outcomes recorded. Returns how many were delivered."""
        claimed: list[PendingCallback] = []
        while self._inbox and len(claimed) < self._batch:
            claimed.append(self._inbox.popleft())
        # The table is scanned when there is nothing handed over, and at least every
        # ``scan_every`` seconds under load, so retries are not starved.
        scan = not claimed or time.monotonic() - self._last_scan >= self._scan_every
        if scan and len(claimed) < self._batch:
            self._last_scan = time.monotonic()
            now = self._clock.now()
            claimed.extend(
                self._store.claim_callbacks(
                    now, lease_until=now + self._lease, limit=self._batch - len(claimed)
                )
            )
        if not claimed:
            self._mark(force=False)
            return 0
        outcomes = await asyncio.gather(*(self._send(item) for item in claimed))
        return self._record(claimed, outcomes)

    def _record(
        self, claimed: list[PendingCallback], outcomes: list[tuple[bool, bool, str]]
    ) -> int:
        """Record a round's outcomes; returns how many were delivered."""
        delivered: list[int] = []
        retries: dict[int, tuple[datetime, str]] = {}
        failed: dict[int, str] = {}
        kept: list[tuple[Callback, datetime, str]] = []
        lost: list[tuple[Callback, str]] = []
        sent = 0
        after = self._clock.now()
        for item, (ok, permanent, error) in zip(claimed, outcomes, strict=True):
            if ok:
                sent += 1
                if item.id is not None:
                    delivered.append(item.id)
            elif permanent or item.attempts + 1 >= self._max_attempts:
                if item.id is None:
                    lost.append((item.callback, error))
                else:
                    failed[item.id] = error
            else:
                due = after + min(self._base * 2**item.attempts, self._max_backoff)
                if item.id is None:
                    kept.append((item.callback, due, error))
                else:
                    retries[item.id] = (due, error)
        if kept or lost:
            self._store.keep_callbacks(kept, lost, at=after)
        self._delivered.extend(delivered)
        self._mark(force=bool(retries or failed), retries=retries, failed=failed)
        return sent

    def _mark(
        self,
        *,
        force: bool,
        retries: dict[int, tuple[datetime, str]] | None = None,
        failed: dict[int, str] | None = None,
    ) -> None:
        """Record the outcomes: the delivered rows grouped over ``mark_every`` seconds."""
        if not (self._delivered or retries or failed):
            return
        due = time.monotonic() - self._last_mark >= self._mark_every
        if not (force or (self._delivered and due) or len(self._delivered) >= 4 * self._batch):
            return
        delivered, self._delivered = self._delivered, []
        self._last_mark = time.monotonic()
        self._store.callbacks_done(delivered, retries or {}, failed or {})

    async def _send(self, item: PendingCallback) -> tuple[bool, bool, str]:
        try:
            status = await self._sender.send(item.callback, timeout=self._timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            return False, False, f"{type(exc).__name__}: {exc}"
        if 200 <= status < 300:
            return True, False, ""
        permanent = 400 <= status < 500 and status not in _RETRYABLE_4XX
        return False, permanent, f"HTTP {status}"

    # --- the background thread -------------------------------------------------------------

    def start(self) -> None:
        """Run the worker in a daemon thread until :meth:`stop`."""
        if self._thread is not None:
            return
        self._stopping = False
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, args=(ready,), name="switch-outbox", daemon=True
        )
        self._thread.start()
        ready.wait(5)

    def _serve(self, ready: threading.Event) -> None:
        with asyncio.Runner(loop_factory=new_event_loop) as runner:
            runner.run(self._run(ready))

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: object) -> AsyncIterator[None]:
        """The worker runs while the app serves (the switch router's ASGI lifespan)."""
        await asyncio.to_thread(self.start)
        try:
            yield
        finally:
            await asyncio.to_thread(self.stop)

    def _nudge(self) -> None:
        """Wake the worker for what was just put in its inbox, if it waits."""
        if self._waiting:
            self.wake()

    def wake(self) -> None:
        """Deliver now rather than after the idle wait (safe from any thread)."""
        loop, event = self._loop, self._event
        if loop is not None and event is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(event.set)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread after the round in progress."""
        self._stopping = True
        self.wake()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    async def _run(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        ready.set()
        last_sweep = 0.0
        try:
            while not self._stopping:
                self._event.clear()
                try:
                    await self.deliver_due()
                    busy = bool(self._inbox)
                except Exception:
                    _log.exception("delivering callbacks failed")
                    busy = False
                now = self._loop.time()
                if self.sweep is not None and now - last_sweep >= self._sweep_every:
                    last_sweep = now
                    try:
                        await asyncio.to_thread(self.sweep)
                    except Exception:
                        _log.exception("sweeping expired transfers failed")
                if not busy and not self._stopping:
                    # Waiting is announced before the inbox is looked at once more: whatever a
                    # thread hands over either is seen here or finds the worker waiting.
                    self._waiting = True
                    if not self._inbox:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._event.wait(), self._idle_wait)
                    self._waiting = False
        finally:
            try:
                self._mark(force=True)
            except Exception:
                _log.exception("recording delivered callbacks failed")
            await self._sender.aclose()
