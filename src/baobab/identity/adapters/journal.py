"""Authentication audit with group commit: many requests' audit entries, one transaction.

Authentication is the hot path; one audit transaction per request would cap it at the database's
commit rate. Callers hand their entry to the journal and wait; a writer thread takes everything
waiting, appends it to the hash chain in one transaction, commits, and releases the callers. A
caller is answered only after its entry is durable, as with one transaction each; under light
load an entry goes alone and waits for nothing but its own commit.

A commit costs about the same whatever it holds (on SQLite with ``synchronous=FULL`` it is an
fsync), so when the previous batch held more than one entry (other callers are active) the
writer waits up to ``commit_delay`` for more entries to join before committing, as
PostgreSQL's ``commit_delay`` does: a little latency for many fewer commits under load.

An event loop waits through :meth:`GroupCommitJournal.written`: after a commit the writer wakes
each loop once for all of its callers in the batch, instead of once per caller (a thread-safe
wake-up each, as ``asyncio.wrap_future`` would do).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from datetime import datetime

from baobab.infra.audit import SqlAuditTrail
from baobab.infra.database import Database
from baobab.infra.waiters import answer_all
from baobab.kernel.audit import AuditEvent
from baobab.kernel.errors import Unavailable

_log = logging.getLogger(__name__)
MAX_BATCH = 2000


class JournalUnavailable(Unavailable):
    code = "identity.journal_unavailable"
    title = "Authentication journal unavailable"


# who waits for an entry: a thread (a future it blocks on) or an event loop's task
Waiter = Future[None] | asyncio.Future[None]
_CLOSED = "the authentication journal is closed"
_NOT_STORED = "the audit entry was not stored"


class GroupCommitJournal:
    """An :class:`~baobab.identity.ports.AuthenticationJournal` over the audit trail."""

    def __init__(self, db: Database, *, commit_delay: float = 0.002) -> None:
        self._db = db
        self._delay = commit_delay
        self._pending: deque[tuple[AuditEvent, datetime, Waiter]] = deque()
        self._ready = threading.Condition()
        self._closed = False
        self._last_batch = 0
        self._thread = threading.Thread(target=self._run, name="identity-journal", daemon=True)
        self._thread.start()

    def record(self, event: AuditEvent, *, at: datetime) -> Future[None]:
        future: Future[None] = Future()
        # running from now on: a caller's cancel() (asyncio.wrap_future passes a cancelled
        # await on to it) cannot cancel it under the writer, which completes every future
        future.set_running_or_notify_cancel()
        if not self._enqueue(event, at, future):
            future.set_exception(JournalUnavailable(_CLOSED))
        return future

    async def written(self, event: AuditEvent, *, at: datetime) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if not self._enqueue(event, at, waiter):
            raise JournalUnavailable(_CLOSED)
        await waiter

    def _enqueue(self, event: AuditEvent, at: datetime, waiter: Waiter) -> bool:
        """Queue the entry; False if the journal is closed."""
        with self._ready:
            if self._closed:
                return False
            self._pending.append((event, at, waiter))
            if len(self._pending) in (1, MAX_BATCH):  # the writer waits for the first or a full
                self._ready.notify()
        return True

    def _gather(self) -> None:
        """Under ``_ready``: let more entries join while others are active (commit delay)."""
        if self._last_batch <= 1:
            return
        deadline = time.monotonic() + self._delay
        while len(self._pending) < MAX_BATCH and not self._closed:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._ready.wait(left)

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._pending and not self._closed:
                    self._ready.wait()
                if not self._pending:
                    return
                self._gather()
                batch = [self._pending.popleft() for _ in range(min(len(self._pending), MAX_BATCH))]
                self._last_batch = len(batch)
            try:
                with self._db.transaction() as connection:
                    SqlAuditTrail(connection).append_many([(event, at) for event, at, _ in batch])
            except Exception as exc:  # any failure: every waiting caller learns of it
                _log.error(
                    "authentication journal commit failed", extra={"error": type(exc).__name__}
                )
                _release([waiter for _, _, waiter in batch], stored=False)
                continue
            _release([waiter for _, _, waiter in batch], stored=True)

    def close(self) -> None:
        """Write what is waiting, then stop."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
        self._thread.join(timeout=30)


def _release(waiters: Sequence[Waiter], *, stored: bool) -> None:
    """Tell the waiters of a batch (each event loop in one call; see :func:`answer_all`)."""
    if stored:
        answer_all((waiter, None, False) for waiter in waiters)
    else:
        answer_all((waiter, JournalUnavailable(_NOT_STORED), True) for waiter in waiters)
