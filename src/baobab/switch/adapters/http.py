"""The callback sender: the lean HTTP/1.1 client (:mod:`.http1`), pooled keep-alive connections.

Written for the outbox worker's loop (one thread, one loop). FSPs answer callbacks with an empty
200/202; an answer body is read (framing) and dropped.
"""

from __future__ import annotations

import asyncio

from baobab.switch.adapters.http1 import Http1Pool
from baobab.switch.domain import Callback

_HOP = {"host", "content-length", "transfer-encoding", "connection"}
_MAX_ANSWER = 65536


class HttpCallbackSender:
    """Sends callbacks; raises ``OSError`` (or ``TimeoutError``) when it cannot."""

    def __init__(self, *, max_idle_per_origin: int = 64) -> None:
        # No timeout of the pool's own: each send has the outbox's.
        self._pool = Http1Pool(timeout=3600.0, max_idle=max_idle_per_origin)

    async def send(self, callback: Callback, *, timeout: float) -> int:
        headers = {k: v for k, v in callback.headers.items() if k.lower() not in _HOP}
        async with asyncio.timeout(timeout):
            status, body = await self._pool.request(
                callback.method, callback.url, headers, callback.body
            )
        if len(body) > _MAX_ANSWER:
            raise ValueError("the FSP's answer is too large")
        return status

    async def aclose(self) -> None:
        await self._pool.aclose()
