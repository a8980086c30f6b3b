"""The simulated FSP's HTTP/1.1 client toward the hub: one asyncio protocol per connection on the
``httptools`` answer parser (``Content-Length``, chunked or close-delimited answers, ``1xx``
skipped), keep-alive connections pooled per origin, ``http`` and ``https``.

Why not the platform's client (:mod:`baobab.infra.http.client`): a payment is three requests from
each simulator, and over asyncio streams (a future per read, a timeout context, a URL split per
new path) that client costs about twice the CPU of a protocol that parses what arrives as it
arrives; in the switch's end-to-end benchmark that CPU is taken from the hub on the same cores.
Every failure is an ``OSError`` (a :class:`TimeoutError` after ``timeout``).
"""

from __future__ import annotations

import asyncio
import ssl
from collections import defaultdict
from collections.abc import Mapping
from functools import lru_cache
from typing import cast
from urllib.parse import urlsplit

import httptools

Origin = tuple[str, str, int]  # scheme, host, port
MAX_IDLE_PER_ORIGIN = 64
MAX_BODY = 16 * 1024 * 1024


class HttpFailure(OSError):
    """The request could not be sent or its answer not read."""


class _Closed(HttpFailure):
    """The connection closed before any byte of the answer: safe to send again elsewhere."""


@lru_cache(maxsize=64)
def _origin(base: str) -> tuple[Origin, str]:
    """The origin of ``scheme://host[:port]`` and its ``Host`` header value."""
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HttpFailure(f"not an http(s) URL: {base}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return (parts.scheme, parts.hostname, port), parts.netloc


def _split(url: str) -> tuple[Origin, str, str]:
    """(origin, Host value, request target) of an absolute URL."""
    scheme, sep, rest = url.partition("://")
    slash = rest.find("/")
    authority, target = (rest, "/") if slash < 0 else (rest[:slash], rest[slash:])
    origin, host = _origin(f"{scheme}{sep}{authority}")
    return origin, host, target


class _Connection(asyncio.Protocol):
    """One connection; at most one request in flight on it."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self._body: list[bytes] = []
        self._size = 0
        self._received = False  # a byte of the current answer has arrived
        self._has_length = False  # the answer says Content-Length or Transfer-Encoding
        self._until_close = False  # the answer has no length: it ends with the connection
        self.reusable = False

    # --- asyncio ---

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # a TCP connection's is one

    def data_received(self, data: bytes) -> None:
        self._received = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(HttpFailure(f"malformed answer: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport, self.reusable = None, False
        if self._until_close and self._waiter is not None:
            self._done(b"".join(self._body))
        elif not self._received:
            self._fail(_Closed("the connection closed before the answer"))
        else:
            self._fail(HttpFailure("the connection closed mid-answer"))

    # --- parser callbacks ---

    def on_headers_complete(self) -> None:
        self._until_close = self._parser.get_status_code() >= 200 and not self._has_length

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() in (b"content-length", b"transfer-encoding"):
            self._has_length = True

    def on_message_begin(self) -> None:
        self._body, self._size, self._has_length = [], 0, False

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > MAX_BODY:
            self._fail(HttpFailure("the answer is too large"))
            return
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._parser.get_status_code() < 200:  # an interim answer: the final one follows
            return
        self.reusable = self._parser.should_keep_alive()
        self._until_close = False
        self._done(b"".join(self._body))

    # --- requests ---

    def send(self, data: bytes) -> asyncio.Future[tuple[int, bytes]]:
        """Write a request; the future of its (status, body)."""
        assert self.transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self._received, self.reusable = False, False
        self.transport.write(data)
        return self._waiter

    def _done(self, body: bytes) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((self._parser.get_status_code(), body))

    def _fail(self, error: HttpFailure) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)
        if self.transport is not None:
            self.transport.close()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class Http1Client:
    """Sends requests over pooled keep-alive connections; belongs to one event loop."""

    def __init__(self, *, timeout: float = 10.0) -> None:
        self._timeout = timeout
        self._idle: defaultdict[Origin, list[_Connection]] = defaultdict(list)
        self._tls: ssl.SSLContext | None = None

    async def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, bytes]:
        """Send one request; its (status, body). ``OSError`` if it fails, ``TimeoutError``
        after the timeout."""
        origin, host, target = _split(url)
        lines = [f"{method} {target} HTTP/1.1\r\nhost: {host}\r\n"]
        for name, value in headers.items():
            if "\n" in value or "\r" in value or "\n" in name or "\r" in name:
                raise HttpFailure(f"the header {name!r} holds a line break")
            lines.append(f"{name}: {value}\r\n")
        lines.append(f"content-length: {len(body)}\r\n\r\n")
        data = "".join(lines).encode("latin-1") + body
        async with asyncio.timeout(self._timeout):
            for _ in range(2):
                connection, reused = await self._connection(origin)
                try:
                    answer = await connection.send(data)
                except _Closed:
                    if reused:  # the server let an idle connection go: once more, anew
                        continue
                    raise
                except BaseException:
                    connection.close()
                    raise
                if connection.reusable and len(self._idle[origin]) < MAX_IDLE_PER_ORIGIN:
                    self._idle[origin].append(connection)
                else:
                    connection.close()
                return answer
        raise HttpFailure("the connection closed twice before answering")

    async def _connection(self, origin: Origin) -> tuple[_Connection, bool]:
        idle = self._idle[origin]
        while idle:
            connection = idle.pop()
            if connection.transport is not None and not connection.transport.is_closing():
                return connection, True
        scheme, host, port = origin
        tls = None
        if scheme == "https":
            self._tls = self._tls or ssl.create_default_context()
            tls = self._tls
        loop = asyncio.get_running_loop()
        _, connection = await loop.create_connection(_Connection, host, port, ssl=tls)
        return connection, False

    async def aclose(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()
