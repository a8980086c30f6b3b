"""Everything the simulated FSP receives from the hub, in order, and a way to wait for the
callback that settles a lookup, a quote or a transfer."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

MAX_KEPT = 200_000  # enough for a benchmark run; the oldest are dropped beyond it

Key = tuple[str, str, str]  # (method, resource, id), e.g. ("PUT", "transfers", "<uuid>")


@dataclass(frozen=True, slots=True)
class Received:
    """One request or callback from the hub. ``error`` is True for ``PUT .../error``."""

    method: str
    resource: str
    id: str
    error: bool
    source: str | None
    body: Any
    at: datetime

    @property
    def key(self) -> Key:
        return (self.method, self.resource, self.id)

    @property
    def error_code(self) -> str | None:
        info = self.body.get("errorInformation") if isinstance(self.body, dict) else None
        return str(info.get("errorCode")) if isinstance(info, dict) else None

    def as_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "resource": self.resource,
            "id": self.id,
            "error": self.error,
            "source": self.source,
            "body": self.body,
            "at": self.at.isoformat(),
        }


def _expire(future: asyncio.Future[Received]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


class Journal:
    """Records what arrives; :meth:`expect` before sending, then await the future."""

    def __init__(self) -> None:
        self.entries: deque[Received] = deque(maxlen=MAX_KEPT)
        self._latest: dict[Key, Received] = {}
        self._waiting: dict[Key, list[asyncio.Future[Received]]] = {}

    def record(self, received: Received) -> None:
        self.entries.append(received)
        self._latest[received.key] = received
        if len(self._latest) > MAX_KEPT:
            self._latest.pop(next(iter(self._latest)))
        for future in self._waiting.pop(received.key, []):
            if not future.done():
                future.set_result(received)

    def latest(self, key: Key) -> Received | None:
        """The last message received under ``key``, if any."""
        return self._latest.get(key)

    def expect(self, key: Key) -> asyncio.Future[Received]:
        """A future for the next message under ``key`` (register it before sending the request,
        so a fast callback is not missed)."""
        future: asyncio.Future[Received] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append(future)
        return future

    def forget(self, key: Key, future: asyncio.Future[Received]) -> None:
        """Stop waiting (after a timeout or a refused request)."""
        waiting = self._waiting.get(key, [])
        if future in waiting:
            waiting.remove(future)
        if not waiting:
            self._waiting.pop(key, None)

    async def wait(self, key: Key, future: asyncio.Future[Received], timeout: float) -> Received:
        """The message the future settles with; raises TimeoutError after ``timeout`` seconds."""
        # A timer on the future itself: asyncio.wait_for would add a second future around it.
        expiry = future.get_loop().call_later(timeout, _expire, future)
        try:
            return await future
        finally:
            expiry.cancel()
            self.forget(key, future)

    def received(self, resource: str, id_: str) -> list[Received]:
        """Every message about one lookup, quote or transfer, oldest first."""
        return [r for r in self.entries if r.resource == resource and r.id == id_]
