"""The message log over fakes: group commit, checkpoints sealed when due, fail closed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from baobab.exchange import MessageLog, MessageLogUnavailable, MessageRecord
from baobab.kernel.clock import ManualClock
from baobab.kernel.errors import InvalidInput
from baobab.kernel.ids import new_id
from baobab.kernel.signing import Signer
from tests.unit.exchange.fakes import FakeUnitOfWork, _State

START = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)


def record() -> MessageRecord:
    return MessageRecord(new_id(), "DEV/A/B/c", "DEV/X/Y/z/svc", START, START, "ok")


class CountingUnitOfWork(FakeUnitOfWork):
    opened = 0

    def __enter__(self) -> CountingUnitOfWork:
        CountingUnitOfWork.opened += 1
        super().__enter__()
        return self


def test_concurrent_appends_share_transactions_and_keep_one_order() -> None:
    state = _State()
    CountingUnitOfWork.opened = 0
    log = MessageLog(
        uow=lambda: CountingUnitOfWork(state), signer=Signer.generate(), clock=ManualClock(START)
    )

    async def many() -> list[int]:
        entries = await asyncio.gather(*(log.append(record()) for _ in range(200)))
        return [e.sequence for e in entries]

    sequences = asyncio.run(many())
    assert sorted(sequences) == list(range(1, 201))
    assert CountingUnitOfWork.opened < 200  # group commit: fewer transactions than messages
    assert log.verify().intact


def test_a_checkpoint_is_sealed_when_due_and_on_demand() -> None:
    state = _State()
    log = MessageLog(
        uow=lambda: FakeUnitOfWork(state),
        signer=Signer.generate(),
        clock=ManualClock(START),
        checkpoint_every=10,
    )
    log.append_batch([record() for _ in range(9)])
    assert state.checkpoints == []
    log.append_batch([record() for _ in range(3)])
    assert [(c.first, c.last) for c in state.checkpoints] == [(1, 12)]
    assert log.checkpoint() is None  # nothing new to seal
    log.append_batch([record()])
    sealed = log.checkpoint()
    assert sealed is not None
    assert (sealed.first, sealed.last) == (13, 13)
    verdict = log.verify()
    assert verdict.intact
    assert (verdict.entries, verdict.checkpoints) == (13, 2)


class FailingUnitOfWork(FakeUnitOfWork):
    def __enter__(self) -> FailingUnitOfWork:
        raise OSError("disk full")


def test_a_failed_batch_refuses_every_message_in_it() -> None:
    log = MessageLog(
        uow=lambda: FailingUnitOfWork(_State()), signer=Signer.generate(), clock=ManualClock(START)
    )

    async def many() -> list[BaseException | object]:
        return await asyncio.gather(
            *(log.append(record()) for _ in range(5)), return_exceptions=True
        )

    results = asyncio.run(many())
    assert all(isinstance(r, MessageLogUnavailable) for r in results)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(InvalidInput):
        MessageLog(
            uow=lambda: FakeUnitOfWork(_State()),
            signer=Signer.generate(),
            clock=ManualClock(START),
            checkpoint_every=0,
        )
