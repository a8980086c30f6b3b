"""The callback sender over the platform's lean HTTP/1.1 client (:mod:`baobab.infra.http.client`),
pooled keep-alive connections.

Written for the outbox worker's loop (one thread, one loop). FSPs answer callbacks with an empty
200/202; an answer body is read (framing) up to a small limit and dropped.
"""

from __future__ import annotations

from baobab.infra.http.client import HttpClient
from baobab.switch.domain import Callback

_MAX_ANSWER = 65536


class HttpCallbackSender:
    """Sends callbacks; raises ``OSError`` (:class:`~baobab.infra.http.client.HttpError`) when it
    cannot, ``TimeoutError`` among them."""

    def __init__(self, *, max_idle_per_origin: int = 64) -> None:
        self._client = HttpClient(max_body=_MAX_ANSWER, max_idle_per_origin=max_idle_per_origin)

    async def send(self, callback: Callback, *, timeout: float) -> int:
        answer = await self._client.request(
            callback.method, callback.url, callback.headers, callback.body, timeout=timeout
        )
        return answer.status

    async def aclose(self) -> None:
        await self._client.aclose()
