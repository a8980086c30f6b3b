"""Serving a simulated FSP over HTTP/1.1 (``baobab fsp-sim``): a small asyncio protocol on the
``httptools`` parser (chunked bodies, keep-alive, pipelined requests answered in order) that hands
each request to :meth:`SimulatorApp.handle` — no ASGI scope, no task per request.

Why not uvicorn, as the platform's ``serve``: each payment is seven HTTP messages in each
simulator, and in the switch's end-to-end benchmark their CPU is taken from the hub on the same
two cores; the FSPIOP requests are answered at once (``202``, the answer follows by callback), so
a task per request and the ASGI plumbing around it were most of a simulator's cost. In-process
tests and the demo still run :class:`SimulatorApp` as an ASGI app.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections import deque
from email.utils import formatdate
from functools import partial
from http import HTTPStatus
from time import time
from typing import cast
from urllib.parse import unquote

import httptools

from baobab.fspsim.app import SimulatorApp
from baobab.fspsim.asgi import MAX_BODY, Answer, Call
from baobab.fspsim.simulator import Simulator
from baobab.infra.loops import new_event_loop

log = logging.getLogger(__name__)
TOO_LARGE = Answer(413, {"detail": "the body is too large"})
BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
_REASONS = {status.value: status.phrase.encode() for status in HTTPStatus}


def _failed(error: BaseException) -> Answer:
    return Answer(500, {"detail": f"the simulator failed: {error!r}"})


class _Clock:
    """The ``Date`` header value, formatted once a second."""

    def __init__(self) -> None:
        self._second = 0
        self._text = b""

    def date(self) -> bytes:
        now = int(time())
        if now != self._second:
            self._second, self._text = now, formatdate(now, usegmt=True).encode()
        return self._text


class _Connection(asyncio.Protocol):
    """One client connection: parses requests, answers them in the order they came."""

    def __init__(self, app: SimulatorApp, clock: _Clock) -> None:
        self._app = app
        self._clock = clock
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._queue: deque[tuple[Call | None, bool]] = deque()  # None: too large
        self._busy = False  # an answer is being awaited; later requests wait their turn
        self._url = b""
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._size = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # a TCP server's is one

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            if self._transport is not None:
                self._transport.write(BAD_REQUEST)
                self._transport.close()
            return
        self._drain()

    # --- parser callbacks ---

    def on_message_begin(self) -> None:
        self._url, self._headers, self._body, self._size = b"", {}, [], 0

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        if self._headers.get("expect", "").lower() == "100-continue" and self._transport:
            self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size <= MAX_BODY:
            self._body.append(body)

    def on_message_complete(self) -> None:
        keep_alive = self._parser.should_keep_alive()
        if self._size > MAX_BODY:
            self._queue.append((None, False))
            return
        url = httptools.parse_url(self._url)
        path = url.path.decode("latin-1")
        method = self._parser.get_method().decode("ascii")
        segments = tuple(unquote(path).strip("/").split("/"))
        body = b"".join(self._body)
        call = Call(method, segments, self._headers, url.query or b"", body)
        self._queue.append((call, keep_alive))

    # --- answers ---

    def _drain(self) -> None:
        while self._queue and not self._busy and self._transport is not None:
            call, keep_alive = self._queue.popleft()
            try:
                answer = TOO_LARGE if call is None else self._app.handle(call)
            except Exception as exc:  # a fault of the simulator: say so, keep serving
                log.exception("the simulator failed on %s", call)
                answer = _failed(exc)
            if isinstance(answer, Answer):
                self._write(answer, keep_alive)
            else:
                self._busy = True
                task = asyncio.ensure_future(answer)
                task.add_done_callback(partial(self._answered, keep_alive=keep_alive))

    def _answered(self, task: asyncio.Future[Answer], *, keep_alive: bool) -> None:
        self._busy = False
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            log.error("the simulator failed", exc_info=error)
        answer = task.result() if error is None else _failed(error)
        self._write(answer, keep_alive)
        self._drain()

    def _write(self, answer: Answer, keep_alive: bool) -> None:
        if self._transport is None:
            return
        content = answer.content()
        head = b"HTTP/1.1 %d %s\r\ndate: %s\r\ncontent-length: %d\r\n" % (
            answer.status,
            _REASONS.get(answer.status, b"-"),
            self._clock.date(),
            len(content),
        )
        if content:
            head += b"content-type: application/json\r\n"
        if not keep_alive:
            head += b"connection: close\r\n"
        self._transport.write(head + b"\r\n" + content)
        if not keep_alive:
            self._transport.close()


async def listen(app: SimulatorApp, *, host: str, port: int) -> asyncio.Server:
    """Start serving ``app`` on ``host:port`` (0: any free port); the caller closes the server."""
    clock = _Clock()
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: _Connection(app, clock), host, port)


async def _serve(sim: Simulator, host: str, port: int) -> None:
    server = await listen(SimulatorApp(sim), host=host, port=port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        server.close()
        await sim.aclose()


def serve(sim: Simulator, *, host: str, port: int) -> None:
    """Serve ``sim`` on ``host:port`` until SIGINT or SIGTERM."""
    gc.freeze()  # what start-up built lives as long as the process: keep it out of collections
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        runner.run(_serve(sim, host, port))
