"""The callback sender over real sockets: request line, headers and body arrive as sent, the
status comes back, a kept-alive connection is reused, an unreachable FSP or an answer past the
limit raises OSError."""

from __future__ import annotations

import asyncio

import pytest

from baobab.switch.adapters.http import HttpCallbackSender
from baobab.switch.domain import Callback


async def _serve(seen: list[bytes], connections: list[int]) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            seen.append(head + await reader.readexactly(length))
            writer.write(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n")
            await writer.drain()
        writer.close()
        await writer.wait_closed()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def test_callbacks_are_sent_over_one_kept_alive_connection() -> None:
    async def scenario() -> tuple[list[int], list[bytes], list[int]]:
        seen: list[bytes] = []
        connections: list[int] = []
        server = await _serve(seen, connections)
        port = server.sockets[0].getsockname()[1]
        sender = HttpCallbackSender()
        statuses = []
        for n in range(3):
            callback = Callback(
                "bank-a",
                "PUT",
                f"http://127.0.0.1:{port}/transfers/{n}",
                {"fspiop-source": "hub"},
                b'{"n":1}',
            )
            statuses.append(await sender.send(callback, timeout=5))
        await sender.aclose()
        server.close()
        await server.wait_closed()
        return statuses, seen, connections

    statuses, seen, connections = asyncio.run(scenario())
    assert statuses == [202, 202, 202]
    assert len(connections) == 1
    assert seen[0].startswith(b"PUT /transfers/0 HTTP/1.1\r\n")
    assert b"fspiop-source: hub" in seen[0]
    assert seen[0].endswith(b'{"n":1}')


def test_an_unreachable_fsp_raises_oserror() -> None:
    async def scenario() -> None:
        sender = HttpCallbackSender()
        callback = Callback("bank-a", "PUT", "http://127.0.0.1:1/transfers/x", {}, b"{}")
        await sender.send(callback, timeout=5)

    with pytest.raises(OSError, match=r"Connect call failed|refused"):
        asyncio.run(scenario())


def test_an_answer_over_the_senders_limit_raises_oserror() -> None:
    async def scenario() -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 70000\r\n\r\n" + b"x" * 70000)
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        sender = HttpCallbackSender()
        callback = Callback("bank-a", "PUT", f"http://127.0.0.1:{port}/transfers/x", {}, b"")
        try:
            await sender.send(callback, timeout=5)
        finally:
            await sender.aclose()
            server.close()
            await server.wait_closed()

    with pytest.raises(OSError, match="exceeds 65536 bytes"):
        asyncio.run(scenario())
