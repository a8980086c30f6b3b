"""The exchange's background work in the serving process: timed checkpoints (and their RFC 3161
time-stamps) and pub/sub push delivery. :class:`Workers` starts each job as a task of the app's
event loop when the app starts and cancels them — waiting for each to stop — when it shuts down.

A job that fails is logged and tried again at its next turn; it never takes the server down.
Database work runs in threads, so the gateway's event loop is never held by a job.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from baobab.exchange.delivery import PushDelivery
from baobab.exchange.domain import Checkpoint, checkpoint_digest
from baobab.exchange.messagelog import MessageLog
from baobab.exchange.pubsub import PubSub
from baobab.kernel.errors import BaobabError

_log = logging.getLogger("baobab.exchange.workers")


@dataclass(frozen=True, slots=True)
class Job:
    """``run`` every ``interval`` seconds (the first time right after start)."""

    name: str
    interval: float
    run: Callable[[], Awaitable[object]]


class Workers:
    """Runs jobs as tasks of the running event loop, from :meth:`start` to :meth:`stop`."""

    def __init__(
        self, jobs: Sequence[Job], *, closers: Sequence[Callable[[], Awaitable[None]]] = ()
    ) -> None:
        self.jobs = tuple(jobs)
        self._closers = tuple(closers)  # what the jobs hold open (HTTP clients), closed at stop
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def running(self) -> bool:
        return any(not t.done() for t in self._tasks)

    async def start(self) -> None:
        if self._tasks:
            return
        self._tasks = [
            asyncio.create_task(self._loop(job), name=f"exchange:{job.name}") for job in self.jobs
        ]

    async def stop(self) -> None:
        """Cancel every job and wait until each has stopped."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for close in self._closers:
            await close()

    @asynccontextmanager
    async def lifespan(self, _app: Any) -> AsyncIterator[None]:
        """The jobs run while the app serves (an ASGI lifespan)."""
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    @staticmethod
    async def _loop(job: Job) -> None:
        while True:
            try:
                await job.run()
            except asyncio.CancelledError:
                raise
            except Exception:  # a failed turn is logged and retried at the next one
                _log.exception("exchange job %s failed", job.name)
            await asyncio.sleep(job.interval)


class CheckpointSealer:
    """Seals the message log every ``max_age`` (the oldest unsealed entry's age) or
    ``max_entries`` unsealed entries, then asks the log's time-stamping authority, if one is
    configured, for a token over each checkpoint not yet time-stamped."""

    def __init__(self, log: MessageLog, *, max_age: timedelta, max_entries: int) -> None:
        self._log = log
        self._max_age = max_age
        self._max_entries = max_entries

    async def run(self) -> Checkpoint | None:
        sealed = await asyncio.to_thread(
            self._log.checkpoint_if_due, max_age=self._max_age, max_entries=self._max_entries
        )
        await self.stamp_pending()
        return sealed

    async def stamp_pending(self) -> int:
        """Time-stamp the checkpoints still without a token; how many were stamped."""
        stamper = self._log.stamper
        if stamper is None:
            return 0
        stamped = 0
        for checkpoint in await asyncio.to_thread(self._log.unstamped):
            try:
                token = await stamper.stamp(checkpoint_digest(checkpoint))
            except BaobabError as exc:  # try again at the next turn
                _log.warning("checkpoint %s not time-stamped: %s", checkpoint.last, exc.detail)
                break
            await asyncio.to_thread(self._log.add_stamp, checkpoint, token)
            stamped += 1
        return stamped


def exchange_jobs(
    *,
    sealer: CheckpointSealer | None,
    checkpoint_interval: float,
    delivery: PushDelivery | None,
    pubsub: PubSub | None,
    push_interval: float,
) -> list[Job]:
    """The jobs a serving process runs; an interval of 0 switches a job off."""
    jobs: list[Job] = []
    if sealer is not None and checkpoint_interval > 0:
        jobs.append(Job("checkpoints", checkpoint_interval, sealer.run))
    if delivery is not None and pubsub is not None and push_interval > 0:

        async def push() -> None:
            await delivery.deliver_due()
            await asyncio.to_thread(pubsub.purge)

        jobs.append(Job("push-delivery", push_interval, push))
    return jobs
