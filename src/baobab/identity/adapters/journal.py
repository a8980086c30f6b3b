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
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from concurrent.futures import Future
from datetime import datetime

from baobab.infra.audit import SqlAuditTrail
from baobab.infra.database import Database
from baobab.kernel.audit import AuditEvent
from baobab.kernel.errors import Unavailable

_log = logging.getLogger(__name__)
MAX_BATCH = 2000


class JournalUnavailable(Unavailable):
    code = "identity.journal_unavailable"
    title = "Authentication journal unavailable"


class GroupCommitJournal:
    """An :class:`~baobab.identity.ports.AuthenticationJournal` over the audit trail."""

    def __init__(self, db: Database, *, commit_delay: float = 0.002) -> None:
        self._db = db
        self._delay = commit_delay
        self._pending: deque[tuple[AuditEvent, datetime, Future[None]]] = deque()
        self._ready = threading.Condition()
        self._closed = False
        self._last_batch = 0
        self._thread = threading.Thread(target=self._run, name="identity-journal", daemon=True)
        self._thread.start()

    def record(self, event: AuditEvent, *, at: datetime) -> Future[None]:
        future: Future[None] = Future()
        with self._ready:
            if self._closed:
                future.set_exception(JournalUnavailable("the authentication journal is closed"))
                return future
            self._pending.append((event, at, future))
            if len(self._pending) in (1, MAX_BATCH):  # the writer waits for the first or a full
                self._ready.notify()
        return future

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
                for _, _, future in batch:
                    future.set_exception(JournalUnavailable("the audit entry was not stored"))
                continue
            for _, _, future in batch:
                future.set_result(None)

    def close(self) -> None:
        """Write what is waiting, then stop."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
        self._thread.join(timeout=30)
