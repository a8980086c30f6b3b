"""A lean HTTP/1.1 client over asyncio streams with pooled keep-alive connections: the hub's
callback sender and the FSP simulator's client (httpx or h11 cost several times more CPU per
request, and a payment takes a dozen small requests).

It sends a request in one write and reads a response framed by ``Content-Length`` or chunked;
anything else (``1xx``, a body up to the connection's close) is refused as a protocol error.
``https://`` origins go over TLS with the system's trust store.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import defaultdict
from collections.abc import Mapping
from urllib.parse import urlsplit

_Origin = tuple[str, str, int]
MAX_HEAD = 64 * 1024
MAX_BODY = 16 * 1024 * 1024


class HttpError(OSError):
    """The connection broke or the answer was not HTTP/1.1 as expected."""


class _Connection:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    def usable(self) -> bool:
        return not self.writer.is_closing() and not self.reader.at_eof()


class Http1Pool:
    """``request()`` returns (status, body); idle connections are kept per origin."""

    def __init__(self, *, timeout: float = 10.0, max_idle: int = 256) -> None:
        self._idle: defaultdict[_Origin, list[_Connection]] = defaultdict(list)
        self._timeout = timeout
        self._max_idle = max_idle
        self._tls: ssl.SSLContext | None = None

    async def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, bytes]:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise HttpError(f"not an http(s):// URL: {url!r}")
        https = parts.scheme == "https"
        origin = (parts.scheme, parts.hostname, parts.port or (443 if https else 80))
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        lines = [f"{method} {target} HTTP/1.1", f"host: {parts.netloc}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"content-length: {len(body)}")
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        async with asyncio.timeout(self._timeout):
            for attempt in range(2):
                connection, reused = await self._connection(origin)
                try:
                    return await self._exchange(connection, origin, request)
                except (
                    ConnectionError,
                    asyncio.IncompleteReadError,
                    asyncio.LimitOverrunError,
                    ValueError,
                    HttpError,
                ) as exc:
                    connection.writer.close()
                    if not reused or attempt:
                        raise HttpError(f"{method} {url}: {exc!r}") from exc
                except BaseException:  # a timeout or cancellation mid-exchange
                    connection.writer.close()
                    raise
        raise HttpError("unreachable")  # pragma: no cover - the loop returns or raises

    async def _connection(self, origin: _Origin) -> tuple[_Connection, bool]:
        idle = self._idle[origin]
        while idle:
            connection = idle.pop()
            if connection.usable():
                return connection, True
            connection.writer.close()
        scheme, host, port = origin
        tls = None
        if scheme == "https":
            tls = self._tls = self._tls or ssl.create_default_context()
        reader, writer = await asyncio.open_connection(host, port, limit=MAX_HEAD, ssl=tls)
        return _Connection(reader, writer), False

    async def _exchange(
        self, connection: _Connection, origin: _Origin, request: bytes
    ) -> tuple[int, bytes]:
        connection.writer.write(request)
        await connection.writer.drain()
        head = await connection.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head[:-4].split(b"\r\n")
        version, _, rest = status_line.partition(b" ")
        if not version.startswith(b"HTTP/1."):
            raise HttpError(f"not an HTTP/1.x answer: {status_line[:80]!r}")
        status = int(rest[:3])
        length, keep, chunked = 0, version == b"HTTP/1.1", False
        for line in header_lines:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                if value.strip().lower() != b"chunked":
                    raise HttpError(f"transfer-encoding {value.strip()!r} is not supported")
                chunked = True
            elif name == b"connection":
                keep = value.strip().lower() != b"close"
        if length > MAX_BODY:
            raise HttpError("the answer is too large")
        if chunked:
            body = await _chunks(connection.reader)
        else:
            body = await connection.reader.readexactly(length) if length else b""
        if keep and len(self._idle[origin]) < self._max_idle:
            self._idle[origin].append(connection)
        else:
            connection.writer.close()
        return status, body

    async def aclose(self) -> None:
        closing = [c for idle in self._idle.values() for c in idle]
        self._idle.clear()
        for connection in closing:
            connection.writer.close()
        for connection in closing:
            with contextlib.suppress(OSError):
                await connection.writer.wait_closed()


async def _chunks(reader: asyncio.StreamReader) -> bytes:
    """A chunked body (RFC 9112 section 7.1), trailers skipped."""
    parts: list[bytes] = []
    size = 0
    while True:
        line = await reader.readuntil(b"\r\n")
        try:
            chunk = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError as exc:
            raise HttpError(f"a bad chunk size line: {line[:40]!r}") from exc
        if chunk == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass  # trailer fields
            return b"".join(parts)
        size += chunk
        if size > MAX_BODY:
            raise HttpError("the answer is too large")
        parts.append((await reader.readexactly(chunk + 2))[:-2])
