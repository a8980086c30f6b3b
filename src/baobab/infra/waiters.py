"""Answering the callers of a batch from the worker thread that ran it.

A caller waits either on a thread-side future (anything with ``set_result`` and
``set_exception``) or on an :mod:`asyncio` future of its event loop. Thread-side ones are
answered at once; the asyncio ones are answered on their own loop, with one thread-safe call per
loop for the whole batch rather than one wake-up per caller. An asyncio future already done was
cancelled by its caller, who no longer waits: it is skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from contextlib import suppress
from typing import Any, Protocol, cast

__all__ = ["Answer", "ThreadWaiter", "answer_all"]


class ThreadWaiter(Protocol):
    """What a blocked thread waits on."""

    def set_result(self, value: Any) -> None: ...

    def set_exception(self, error: BaseException) -> None: ...


# (who waits, the value or the exception, whether it is an exception)
Answer = tuple["ThreadWaiter | asyncio.Future[Any]", Any, bool]


def answer_all(answers: Iterable[Answer]) -> None:
    """Complete every waiter with its answer (safe from any thread)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Answer]] = {}
    for answer in answers:
        waiter, value, failed = answer
        if isinstance(waiter, asyncio.Future):
            by_loop.setdefault(waiter.get_loop(), []).append(answer)
        elif failed:
            waiter.set_exception(value)
        else:
            waiter.set_result(value)
    for loop, pending in by_loop.items():
        with suppress(RuntimeError):  # a closed loop: nobody awaits these answers any more
            loop.call_soon_threadsafe(_settle_in_loop, pending)


def _settle_in_loop(answers: list[Answer]) -> None:
    for waiter, value, failed in answers:
        if cast("asyncio.Future[Any]", waiter).done():  # only asyncio futures come here
            continue
        if failed:
            waiter.set_exception(value)
        else:
            waiter.set_result(value)
