"""The load generator of ``bench.registries``: HTTP/1.1 over asyncio streams with keep-alive
connections, at a stated request rate.

Why not httpx: on two shared cores the client competes with the server it measures, and a
general-purpose client spends several hundred microseconds of CPU per request building and
parsing messages. This one writes a request head from a template and reads ``Content-Length``
bytes back: a few tens of microseconds.

Open loop: request ``i`` is due at ``start + i / rate`` whether or not earlier answers have come
back, and its latency runs from that due time to the last byte of its answer. A slow answer
therefore also delays (and is charged to) the requests queued behind it, as it would for real
callers; a closed loop (send, wait, send) would hide that queueing ("coordinated omission").
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


class LoadFailure(Exception):
    """The server answered something the load generator cannot read."""


@dataclass(frozen=True, slots=True)
class Call:
    """One request: method, path with query, JSON body (or empty)."""

    method: str
    path: str
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def send(self, call: Call, headers: bytes) -> Answer:
        head = (
            f"{call.method} {call.path} HTTP/1.1\r\nContent-Length: {len(call.body)}\r\n".encode()
            + headers
        )
        self.writer.write(head + call.body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        status = int(raw[9:12])
        length = None
        for line in raw.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None:
            raise LoadFailure(f"an answer without Content-Length: {raw[:200]!r}")
        return Answer(status, await self.reader.readexactly(length))


async def _connect(host: str, port: int, count: int) -> list[_Connection]:
    opened = []
    for _ in range(count):
        reader, writer = await asyncio.open_connection(host, port)
        opened.append(_Connection(reader, writer))
    return opened


def run_load(
    *,
    host: str,
    port: int,
    token: str,
    calls: Sequence[Call],
    check: Callable[[int, Answer], None],
    rate: float | None,
    connections: int = 4,
) -> list[float]:
    """Send ``calls`` and return each one's latency in seconds. ``rate`` requests per second
    (open loop), or None: one at a time, each sent when the previous answer is in. ``check``
    is given every answer with the index of its call and raises if it is wrong."""
    headers = (
        f"Host: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        "Content-Type: application/json\r\nAccept: application/json\r\n\r\n"
    ).encode()

    async def main() -> list[float]:
        pool = await _connect(host, port, 1 if rate is None else connections)
        idle: asyncio.Queue[_Connection] = asyncio.Queue()
        for connection in pool:
            idle.put_nowait(connection)
        latencies = [0.0] * len(calls)
        start = time.perf_counter() + 0.05

        async def one(index: int) -> None:
            due = start + index / rate if rate else time.perf_counter()
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            connection = await idle.get()
            try:
                answer = await connection.send(calls[index], headers)
            finally:
                idle.put_nowait(connection)
            latencies[index] = time.perf_counter() - due
            check(index, answer)

        try:
            if rate is None:
                for index in range(len(calls)):
                    await one(index)
            else:
                await asyncio.gather(*(one(i) for i in range(len(calls))))
        finally:
            for connection in pool:
                connection.writer.close()
        return latencies

    return asyncio.run(main())
