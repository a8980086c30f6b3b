"""The background jobs: run at their interval, survive a failing turn, stop cleanly."""

from __future__ import annotations

import asyncio

from baobab.exchange.workers import Job, Workers, exchange_jobs


def test_jobs_run_survive_failures_and_stop_with_their_closers() -> None:
    runs: list[str] = []
    closed: list[bool] = []

    async def good() -> None:
        runs.append("good")

    async def bad() -> None:
        runs.append("bad")
        raise RuntimeError("a failing turn")

    async def close() -> None:
        closed.append(True)

    workers = Workers([Job("good", 0.001, good), Job("bad", 0.001, bad)], closers=[close])

    async def scenario() -> tuple[bool, bool]:
        await workers.start()
        await asyncio.sleep(0.05)
        running = workers.running
        await workers.stop()
        return running, workers.running

    running, after = asyncio.run(scenario())
    assert running
    assert not after
    assert runs.count("bad") >= 2  # a failure does not end the job
    assert runs.count("good") >= 2
    assert closed == [True]


def test_the_lifespan_starts_and_stops_the_jobs() -> None:
    seen: list[bool] = []

    async def job() -> None:
        seen.append(True)

    workers = Workers([Job("one", 10, job)])

    async def scenario() -> None:
        async with workers.lifespan(None):
            await asyncio.sleep(0.01)
            assert workers.running
        assert not workers.running

    asyncio.run(scenario())
    assert seen == [True]


def test_an_interval_of_zero_switches_a_job_off() -> None:
    assert (
        exchange_jobs(
            sealer=None, checkpoint_interval=1, delivery=None, pubsub=None, push_interval=0
        )
        == []
    )
