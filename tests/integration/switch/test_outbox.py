"""The callback outbox on SQLite and PostgreSQL: delivered rows go, failures come back after an
exponential backoff, a permanent refusal or too many attempts parks the row as failed; a
callback sent from memory is written only when it fails."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from baobab.infra.database import Database
from baobab.kernel.clock import ManualClock
from baobab.switch.adapters.sql import SqlSwitchStore
from baobab.switch.adapters.tables import outbox
from baobab.switch.domain import Callback
from baobab.switch.outbox import CallbackWorker


@dataclass
class ScriptedSender:
    """Answers with the next status of ``script`` (an exception instance is raised)."""

    script: list[int | Exception]
    sent: list[Callback] = field(default_factory=list)

    async def send(self, callback: Callback, *, timeout: float) -> int:
        self.sent.append(callback)
        answer = self.script.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def aclose(self) -> None:
        return None


def _callback(n: int = 1) -> Callback:
    return Callback("bank-a", "PUT", f"http://bank-a.test/transfers/{n}", {"date": "x"}, b"{}")


def _worker(
    db: Database, clock: ManualClock, sender: ScriptedSender, **kwargs: object
) -> CallbackWorker:
    return CallbackWorker(
        store=SqlSwitchStore(db),
        sender=sender,
        clock=clock,
        base_backoff=timedelta(seconds=1),
        **kwargs,  # type: ignore[arg-type]
    )


def test_a_delivered_callback_is_gone(db: Database, clock: ManualClock) -> None:
    store = SqlSwitchStore(db)
    store.add_callbacks([_callback(1), _callback(2)], at=clock.now())
    sender = ScriptedSender([200, 202])
    worker = _worker(db, clock, sender)
    assert asyncio.run(worker.deliver_due()) == 2
    assert asyncio.run(worker.deliver_due()) == 0
    assert [c.url for c in sender.sent] == [
        "http://bank-a.test/transfers/1",
        "http://bank-a.test/transfers/2",
    ]


def test_a_failure_is_retried_after_a_growing_backoff(db: Database, clock: ManualClock) -> None:
    SqlSwitchStore(db).add_callbacks([_callback()], at=clock.now())
    sender = ScriptedSender([503, OSError("refused"), 200])
    worker = _worker(db, clock, sender)
    assert asyncio.run(worker.deliver_due()) == 0  # 503: retry in 1 s
    clock.advance(timedelta(milliseconds=999))
    assert asyncio.run(worker.deliver_due()) == 0
    assert len(sender.sent) == 1
    clock.advance(timedelta(milliseconds=1))
    assert asyncio.run(worker.deliver_due()) == 0  # OSError: retry in 2 s
    clock.advance(timedelta(seconds=1))
    asyncio.run(worker.deliver_due())
    assert len(sender.sent) == 2
    clock.advance(timedelta(seconds=1))
    assert asyncio.run(worker.deliver_due()) == 1
    assert SqlSwitchStore(db).failed_callbacks(10) == []


@pytest.mark.parametrize("script", [[404], [500, 500]])
def test_a_refusal_or_too_many_attempts_parks_the_callback(
    db: Database, clock: ManualClock, script: list[int | Exception]
) -> None:
    SqlSwitchStore(db).add_callbacks([_callback()], at=clock.now())
    worker = _worker(db, clock, ScriptedSender(list(script)), max_attempts=2)
    for _ in script:
        asyncio.run(worker.deliver_due())
        clock.advance(timedelta(minutes=1))
    assert asyncio.run(worker.deliver_due()) == 0
    ((parked, error),) = SqlSwitchStore(db).failed_callbacks(10)
    assert parked.attempts == len(script)
    assert error == f"HTTP {script[-1]}"


def test_a_claimed_callback_is_not_claimed_twice(db: Database, clock: ManualClock) -> None:
    store = SqlSwitchStore(db)
    store.add_callbacks([_callback()], at=clock.now())
    lease = clock.now() + timedelta(seconds=30)
    assert len(store.claim_callbacks(clock.now(), lease_until=lease, limit=10)) == 1
    assert store.claim_callbacks(clock.now(), lease_until=lease, limit=10) == []
    clock.advance(timedelta(seconds=31))
    assert len(store.claim_callbacks(clock.now(), lease_until=lease, limit=10)) == 1


def _rows(db: Database) -> int:
    with db.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(outbox)).scalar_one())


def test_delivered_rows_are_deleted_in_groups(db: Database, clock: ManualClock) -> None:
    store = SqlSwitchStore(db)
    store.add_callbacks([_callback(1), _callback(2)], at=clock.now())
    worker = _worker(db, clock, ScriptedSender([200, 200, 503]), mark_every=25)
    assert asyncio.run(worker.deliver_due()) == 2
    assert asyncio.run(worker.deliver_due()) == 0  # leased: not sent again
    assert _rows(db) == 2  # delivered; their delete waits for the group
    store.add_callbacks([_callback(3)], at=clock.now())
    assert asyncio.run(worker.deliver_due()) == 0  # a 503: outcomes are recorded at once
    assert _rows(db) == 1


def test_grouping_may_not_outlast_the_lease(db: Database, clock: ManualClock) -> None:
    with pytest.raises(ValueError, match="lease"):
        _worker(db, clock, ScriptedSender([]), mark_every=30)


def test_a_callback_sent_from_memory_writes_nothing_when_it_goes_through(
    db: Database, clock: ManualClock
) -> None:
    sender = ScriptedSender([200])
    worker = _worker(db, clock, sender)
    worker.send_unrecorded([_callback(7)])
    assert asyncio.run(worker.deliver_due()) == 1
    assert [c.url for c in sender.sent] == ["http://bank-a.test/transfers/7"]
    assert _rows(db) == 0


def test_a_callback_sent_from_memory_that_fails_is_kept_and_retried(
    db: Database, clock: ManualClock
) -> None:
    sender = ScriptedSender([503, 200])
    worker = _worker(db, clock, sender)
    worker.send_unrecorded([_callback(8)])
    assert asyncio.run(worker.deliver_due()) == 0  # 503: written, due again in 1 s
    assert _rows(db) == 1
    assert asyncio.run(worker.deliver_due()) == 0
    assert len(sender.sent) == 1
    clock.advance(timedelta(seconds=1))
    assert asyncio.run(worker.deliver_due()) == 1
    assert [c.url for c in sender.sent] == ["http://bank-a.test/transfers/8"] * 2
    assert _rows(db) == 0


def test_a_callback_sent_from_memory_that_is_refused_is_parked(
    db: Database, clock: ManualClock
) -> None:
    worker = _worker(db, clock, ScriptedSender([404]))
    worker.send_unrecorded([_callback(9)])
    assert asyncio.run(worker.deliver_due()) == 0
    ((parked, error),) = SqlSwitchStore(db).failed_callbacks(10)
    assert (parked.callback.url, parked.attempts, error) == (
        "http://bank-a.test/transfers/9",
        1,
        "HTTP 404",
    )
