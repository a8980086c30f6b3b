"""Work done in a forked child process, so a batch uses more than one core.

The child starts as a copy of this process (its memory shared copy-on-write, nothing pickled on
the way in) and sends back only its answer. Forking needs Linux; elsewhere batch work stays in
one process.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Generic, TypeVar

__all__ = ["Forked", "cores"]

T = TypeVar("T")


def cores(wanted: int | None) -> int:
    """How many processes to use: ``wanted``, by default every core; 1 where forking is not
    available."""
    if wanted is not None and wanted < 1:
        raise ValueError("need at least one process")
    if sys.platform != "linux":
        return 1
    return wanted if wanted is not None else max(1, len(os.sched_getaffinity(0)))


class Forked(Generic[T]):
    """``function()`` running in a forked child; :meth:`result` waits for its answer."""

    def __init__(self, function: Callable[[], T]) -> None:
        context = multiprocessing.get_context("fork")
        self._answers, sender = context.Pipe(duplex=False)
        self._process = context.Process(target=_run, args=(sender, function), daemon=True)
        gc.freeze()  # the child's collections then leave the shared pages alone
        try:
            self._process.start()
        finally:
            gc.unfreeze()
        sender.close()

    def result(self) -> T:
        """The child's answer; raises :class:`RuntimeError` if it failed or died."""
        try:
            ok, value = self._answers.recv()
        except EOFError:
            raise RuntimeError("a child process ended without answering") from None
        finally:
            self._answers.close()
            self._process.join()
        if not ok:
            raise RuntimeError(f"a child process failed: {value}")
        answer: T = value
        return answer


def _run(sender: Connection, function: Callable[[], object]) -> None:
    try:
        sender.send((True, function()))
    except Exception as exc:
        sender.send((False, f"{type(exc).__name__}: {exc}"))
    finally:
        sender.close()
