"""The lean HTTP/1.1 client: keep-alive reuse, framing by Content-Length or chunks, a closed
idle connection retried once, anything it cannot frame refused."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from baobab.switch.adapters.http1 import Http1Pool, HttpError

Answer = Callable[[bytes], bytes]


async def serve(answer: Answer, *, close_after: int = 0) -> tuple[asyncio.Server, list[int]]:
    """A server answering each request with ``answer(request head)``; the list counts
    connections. ``close_after`` > 0 closes each connection after that many answers."""
    connections: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        served = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (int(line.split(b":")[1]) for line in head.split(b"\r\n")
                     if line.lower().startswith(b"content-length")),
                    0,
                )  # fmt: skip
                await reader.readexactly(length)
                writer.write(answer(head))
                await writer.drain()
                served += 1
                if close_after and served >= close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, connections


def ok(body: bytes) -> Answer:
    return lambda head: b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)


async def shut(pool: Http1Pool, server: asyncio.Server) -> None:
    await pool.aclose()
    server.close()
    await server.wait_closed()
    await asyncio.sleep(0.05)  # the handlers see the end of their connections and close them


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())  # type: ignore[arg-type]


def test_answers_are_read_and_the_connection_is_kept() -> None:
    async def scenario() -> None:
        server, connections = await serve(ok(b'{"a":1}'))
        port = server.sockets[0].getsockname()[1]
        pool = Http1Pool()
        for _ in range(3):
            status, body = await pool.request("POST", f"http://127.0.0.1:{port}/x", {}, b"hi")
            assert (status, body) == (200, b'{"a":1}')
        assert len(connections) == 1
        await shut(pool, server)

    run(scenario)


def test_a_connection_the_server_closed_is_replaced() -> None:
    async def scenario() -> None:
        server, connections = await serve(ok(b""), close_after=1)
        port = server.sockets[0].getsockname()[1]
        pool = Http1Pool()
        for _ in range(3):
            assert (await pool.request("GET", f"http://127.0.0.1:{port}/", {}))[0] == 200
            await asyncio.sleep(0.01)  # let the close arrive, or not: both must work
        assert len(connections) == 3
        await shut(pool, server)

    run(scenario)


def test_a_chunked_answer_is_read_and_the_connection_kept() -> None:
    async def scenario() -> None:
        chunked = (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nx-trailer: 1\r\n\r\n"
        )
        server, connections = await serve(lambda head: chunked)
        port = server.sockets[0].getsockname()[1]
        pool = Http1Pool()
        for _ in range(2):
            status, body = await pool.request("GET", f"http://127.0.0.1:{port}/", {})
            assert (status, body) == (200, b"hello, world")
        assert len(connections) == 1
        await shut(pool, server)

    run(scenario)


def test_another_transfer_encoding_is_refused() -> None:
    async def scenario() -> None:
        gzip = b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n"
        server, _ = await serve(lambda head: gzip)
        port = server.sockets[0].getsockname()[1]
        pool = Http1Pool()
        with pytest.raises(HttpError, match="gzip"):
            await pool.request("GET", f"http://127.0.0.1:{port}/", {})
        await shut(pool, server)

    run(scenario)


def test_only_http_and_https_urls_are_taken() -> None:
    async def scenario() -> None:
        with pytest.raises(HttpError, match="http"):
            await Http1Pool().request("GET", "ftp://hub.example/", {})

    run(scenario)
