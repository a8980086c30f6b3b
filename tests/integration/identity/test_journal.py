"""The group-committing authentication journal on SQLite and PostgreSQL: every entry waited for
is durable, in one unbroken chain, however many callers write at once."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from datetime import UTC, datetime

from sqlalchemy import func, select

from baobab.bootstrap import Platform
from baobab.identity.adapters.journal import GroupCommitJournal, JournalUnavailable
from baobab.infra.audit import audit_log, verify_audit
from baobab.kernel.audit import AuditEvent

AT = datetime(2026, 11, 26, 12, tzinfo=UTC)


def _event(number: int) -> AuditEvent:
    return AuditEvent("identity.authentication", "DEV/COM/BANKA/kyc", f"t{number}", "success")


def test_entries_from_many_threads_are_all_durable_in_one_chain(wired: Platform) -> None:
    journal = GroupCommitJournal(wired.db, commit_delay=0.005)
    futures: list[Future[None]] = []
    lock = threading.Lock()

    def caller(offset: int) -> None:
        for number in range(offset, offset + 50):
            future = journal.record(_event(number), at=AT)
            with lock:
                futures.append(future)

    threads = [threading.Thread(target=caller, args=(i * 50,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for future in futures:
        future.result(timeout=30)
    journal.close()
    with wired.db.transaction() as connection:
        subjects = connection.execute(
            select(audit_log.c.subject).where(audit_log.c.action == "identity.authentication")
        ).scalars()
        assert sorted(subjects) == sorted(f"t{n}" for n in range(300))
    entries, broken = verify_audit(wired.db)
    assert broken is None
    assert entries >= 300


def test_close_writes_what_waits_and_then_refuses(wired: Platform) -> None:
    journal = GroupCommitJournal(wired.db)
    waiting = [journal.record(_event(n), at=AT) for n in range(20)]
    journal.close()
    assert all(f.done() and f.exception() is None for f in waiting)
    late = journal.record(_event(99), at=AT)
    assert isinstance(late.exception(timeout=1), JournalUnavailable)
    with wired.db.transaction() as connection:
        count = connection.execute(
            select(func.count()).where(audit_log.c.action == "identity.authentication")
        ).scalar_one()
    assert count == 20
