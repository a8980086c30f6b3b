"""The group-committing authentication journal on SQLite and PostgreSQL: every entry waited for
is durable, in one unbroken chain, however many callers write at once."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from baobab.bootstrap import Platform
from baobab.identity.adapters.journal import GroupCommitJournal, JournalUnavailable
from baobab.infra.audit import audit_log, verify_audit
from baobab.infra.database import Database
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


def _authentications(platform: Platform) -> list[str]:
    with platform.db.transaction() as connection:
        return list(
            connection.execute(
                select(audit_log.c.subject).where(audit_log.c.action == "identity.authentication")
            ).scalars()
        )


def test_event_loop_callers_wait_until_their_entries_are_durable(wired: Platform) -> None:
    journal = GroupCommitJournal(wired.db, commit_delay=0.005)
    stored: list[int] = []

    async def caller(number: int) -> None:
        await journal.written(_event(number), at=AT)
        # durable means readable by another connection as soon as the wait is over
        assert f"t{number}" in _authentications(wired)
        stored.append(number)

    async def everyone() -> None:
        await asyncio.gather(*(caller(n) for n in range(120)))

    asyncio.run(everyone())
    journal.close()
    assert sorted(stored) == list(range(120))
    assert sorted(_authentications(wired)) == sorted(f"t{n}" for n in range(120))
    assert verify_audit(wired.db)[1] is None


def test_threads_and_event_loops_share_batches(wired: Platform) -> None:
    journal = GroupCommitJournal(wired.db, commit_delay=0.005)
    futures = [journal.record(_event(n), at=AT) for n in range(50)]

    async def callers() -> None:
        await asyncio.gather(*(journal.written(_event(n), at=AT) for n in range(50, 100)))

    asyncio.run(callers())
    for future in futures:
        future.result(timeout=30)
    journal.close()
    assert sorted(_authentications(wired)) == sorted(f"t{n}" for n in range(100))


def test_a_caller_that_goes_away_still_gets_its_entry_written(wired: Platform) -> None:
    journal = GroupCommitJournal(wired.db)

    async def impatient() -> None:
        waiting = asyncio.ensure_future(journal.written(_event(1), at=AT))
        await asyncio.sleep(0)  # the entry is queued
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await journal.written(_event(2), at=AT)  # the writer carries on

    asyncio.run(impatient())
    journal.close()
    assert sorted(_authentications(wired)) == ["t1", "t2"]


def test_an_event_loop_caller_of_a_closed_journal_is_refused(wired: Platform) -> None:
    journal = GroupCommitJournal(wired.db)
    journal.close()
    with pytest.raises(JournalUnavailable):
        asyncio.run(journal.written(_event(1), at=AT))
    assert _authentications(wired) == []


def test_a_failed_commit_fails_every_waiter_of_the_batch(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'no-audit-tables.db'}")  # nothing migrated
    journal = GroupCommitJournal(db)
    by_thread = journal.record(_event(1), at=AT)

    async def by_loop() -> None:
        await journal.written(_event(2), at=AT)

    with pytest.raises(JournalUnavailable):
        asyncio.run(by_loop())
    assert isinstance(by_thread.exception(timeout=30), JournalUnavailable)
    journal.close()
    db.dispose()


def test_a_cancelled_wait_on_a_thread_future_does_not_stop_the_writer(wired: Platform) -> None:
    journal = GroupCommitJournal(wired.db)

    async def impatient() -> None:
        waiting = asyncio.ensure_future(asyncio.wrap_future(journal.record(_event(1), at=AT)))
        await asyncio.sleep(0)
        waiting.cancel()  # wrap_future passes the cancel on to the journal's future
        with pytest.raises(asyncio.CancelledError):
            await waiting

    asyncio.run(impatient())
    journal.record(_event(2), at=AT).result(timeout=30)
    journal.close()
    assert sorted(_authentications(wired)) == ["t1", "t2"]
