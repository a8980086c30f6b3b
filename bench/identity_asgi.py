"""The authentication route driven in process through ASGI: its CPU cost without sockets.

Part of ``bench/identity_auth.py`` (``--asgi``). The same identity router and app as the HTTP
case, the same prepared requests, sent straight to the ASGI app by ``concurrency`` tasks of one
event loop; the process's CPU time (the event loop and the audit journal's writer thread) is
divided by the answers. With no network, scheduler or load generator in the figure, it is the
steadiest measure of what one authentication costs the server on a shared machine.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from typing import Any

Request = tuple[bytes, bool | None]


def _scope(raw: bytes) -> tuple[dict[str, Any], bytes]:
    head, body = raw.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    method, path, _ = lines[0].split(b" ")
    headers = []
    for line in lines[1:]:
        name, value = line.split(b":", 1)
        headers.append((name.strip().lower(), value.strip()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method.decode(),
        "path": path.decode(),
        "raw_path": path,
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "scheme": "http",
        "root_path": "",
    }
    return scope, body


async def _one(app: Any, scope: dict[str, Any], body: bytes) -> tuple[int, bytes]:
    delivered = False
    answer: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)  # the client never disconnects
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        answer.append(message)

    await app({**scope, "state": {}}, receive, send)
    return answer[0]["status"], b"".join(m.get("body", b"") for m in answer[1:])


async def _drive(
    app: Any,
    work: Sequence[tuple[dict[str, Any], bytes, bool | None]],
    count: int,
    concurrency: int,
    wrong: list[str],
) -> None:
    numbers: Iterator[int] = iter(range(count))

    async def task() -> None:
        for number in numbers:
            scope, body, expected = work[number % len(work)]
            status, answer = await _one(app, scope, body)
            if status != 200 or (b'"authenticated":true' in answer) is not expected:
                wrong.append(f"{status} {answer[:200]!r}")

    await asyncio.gather(*(task() for _ in range(concurrency)))


def cpu_per_request(
    app: Any, requests: Sequence[Request], *, count: int, concurrency: int = 32
) -> tuple[float, list[str]]:
    """Microseconds of process CPU per answered request after a warm-up, and wrong answers."""
    work = [(*_scope(raw), expected) for raw, expected in requests]
    wrong: list[str] = []
    asyncio.run(_drive(app, work, min(count, 500), concurrency, wrong))
    started = time.process_time()
    asyncio.run(_drive(app, work[500:] + work[:500], count, concurrency, wrong))
    return (time.process_time() - started) / count * 1e6, wrong
