"""The simulator's HTTP/1.1 client against small servers that answer in each way HTTP allows."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from baobab.fspsim.http1 import Http1Client, HttpFailure

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    headers = {}
    for line in head[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return head[0], headers, body


def against(handler: Handler, scenario: Callable[[Http1Client, str], Awaitable[None]]) -> None:
    """Run ``scenario`` with a client and the base URL of a server running ``handler`` per
    connection."""

    writers: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        try:
            await handler(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def run() -> None:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = Http1Client(timeout=2)
        try:
            await scenario(client, f"http://127.0.0.1:{port}")
        finally:
            await client.aclose()
            server.close()
            for writer in writers:
                writer.close()
            await asyncio.sleep(0.01)  # let the transports close before the loop does

    asyncio.run(run())


def test_requests_go_over_one_kept_alive_connection_with_their_headers_and_body() -> None:
    seen: list[tuple[str, dict[str, str], bytes]] = []
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        try:
            while True:
                seen.append(await read_request(reader))
                writer.write(b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\nok")
        except asyncio.IncompleteReadError:
            writer.close()

    async def scenario(client: Http1Client, base: str) -> None:
        for n in range(3):
            answer = await client.request(
                "PUT", f"{base}/switch/quotes/{n}", {"fspiop-source": "bankb"}, b'{"a":1}'
            )
            assert answer == (202, b"ok")

    against(handler, scenario)
    assert connections == 1
    assert [line for line, _, _ in seen] == [f"PUT /switch/quotes/{n} HTTP/1.1" for n in range(3)]
    assert seen[0][1]["fspiop-source"] == "bankb"
    assert seen[0][1]["host"].startswith("127.0.0.1:")
    assert seen[0][2] == b'{"a":1}'


def test_chunked_close_delimited_and_interim_answers_are_read_whole() -> None:
    answers = [
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\none",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\ntwo\r\n2\r\n!!\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nthree, until the end",
    ]

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while answers:
                await read_request(reader)
                writer.write(answers.pop(0))
                if not answers:
                    await writer.drain()
                    writer.close()
        except asyncio.IncompleteReadError:
            writer.close()

    async def scenario(client: Http1Client, base: str) -> None:
        assert await client.request("GET", f"{base}/a", {}) == (200, b"one")
        assert await client.request("GET", f"{base}/b", {}) == (200, b"two!!")
        assert await client.request("GET", f"{base}/c", {}) == (200, b"three, until the end")

    against(handler, scenario)


def test_an_idle_connection_the_server_dropped_is_replaced() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
        await writer.drain()
        writer.close()  # keep-alive promised, then dropped

    async def scenario(client: Http1Client, base: str) -> None:
        for _ in range(3):
            assert await client.request("POST", f"{base}/x", {}, b"{}") == (200, b"")
            await asyncio.sleep(0.05)

    against(handler, scenario)


def test_failures_are_os_errors() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(5)

    async def times_out(client: Http1Client, base: str) -> None:
        with pytest.raises(TimeoutError):
            await client.request("GET", f"{base}/slow", {})

    against(silent, times_out)

    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")
        await writer.drain()
        writer.close()

    async def mid_answer(client: Http1Client, base: str) -> None:
        with pytest.raises(HttpFailure, match="mid-answer"):
            await client.request("GET", f"{base}/cut", {})
        with pytest.raises(HttpFailure, match="line break"):
            await client.request("GET", f"{base}/x", {"x-evil": "a\r\nx-injected: 1"})
        with pytest.raises(ConnectionRefusedError):
            await client.request("GET", "http://127.0.0.1:9/refused", {})

    against(cut, mid_answer)
