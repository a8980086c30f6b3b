"""The platform's HTTP/1.1 client against real sockets: keep-alive reuse, framing by
Content-Length, chunks or the connection's end, limits, timeouts, unreachable origins, connections
the origin closed, and answers framed ambiguously or badly refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest

from baobab.infra.http.client import (
    AnswerTooLarge,
    HttpClient,
    HttpError,
    HttpTimeout,
    _Connection,
)

Reply = Callable[[bytes, bytes], bytes]  # (request head, request body) -> raw answer


@dataclass
class Origin:
    base: str
    connections: list[int] = field(default_factory=list)
    requests: list[bytes] = field(default_factory=list)


def ok(body: bytes, *extra: bytes) -> bytes:
    head = b"".join(line + b"\r\n" for line in extra)
    return b"HTTP/1.1 200 OK\r\n%scontent-length: %d\r\n\r\n%s" % (head, len(body), body)


@asynccontextmanager
async def origin(
    reply: Reply, *, close_after: int = 0, delay: float = 0.0
) -> AsyncIterator[Origin]:
    """A server answering each request with ``reply``; ``close_after`` > 0 closes each
    connection after that many answers."""
    seen = Origin("")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.connections.append(1)
        served = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (int(line.split(b":")[1]) for line in head.split(b"\r\n")
                     if line.lower().startswith(b"content-length")),
                    0,
                )  # fmt: skip
                body = await reader.readexactly(length)
                seen.requests.append(head + body)
                await asyncio.sleep(delay)
                writer.write(reply(head, body))
                await writer.drain()
                served += 1
                if close_after and served >= close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:  # also when the test ends while a slow answer is pending
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    seen.base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield seen
    finally:
        server.close()
        await asyncio.sleep(0.01)  # the handlers see the end of their connections and close


def run(scenario: Callable[[HttpClient], Awaitable[None]]) -> None:
    async def main() -> None:
        client = HttpClient(timeout=5.0)
        try:
            await scenario(client)
        finally:
            await client.aclose()

    asyncio.run(main())


def echo(head: bytes, body: bytes) -> bytes:
    target = head.split(b" ", 2)[1]
    header = next(line for line in head.split(b"\r\n") if line.startswith(b"x-test:"))
    return ok(body, b"x-seen-target: " + target, b"x-seen-" + header)


def test_round_trips_reuse_the_connection() -> None:
    async def scenario(client: HttpClient) -> None:
        async with origin(echo) as seen:
            for payload in (b"one", b"two" * 100):
                answer = await client.request(
                    "POST", f"{seen.base}/echo?a=1&b=2", {"x-test": "v"}, payload
                )
                assert (answer.status, answer.body) == (200, payload)
                assert answer.headers["x-seen-target"] == "/echo?a=1&b=2"
                assert answer.headers["x-seen-x-test"] == "v"
            assert len(seen.connections) == 1
            assert seen.requests[0].startswith(b"POST /echo?a=1&b=2 HTTP/1.1\r\nhost: 127.0.0.1:")

    run(scenario)


def test_framing_headers_of_the_caller_are_not_sent() -> None:
    async def scenario(client: HttpClient) -> None:
        async with origin(lambda head, body: ok(b"")) as seen:
            headers = {"Content-Length": "99", "connection": "close", "x-test": "1"}
            await client.request("PUT", f"{seen.base}/", headers, b"abc")
            head = seen.requests[0].lower()
            assert head.count(b"content-length") == 1
            assert b"content-length: 3\r\n" in head
            assert b"connection" not in head

    run(scenario)


def test_a_connection_the_server_closed_is_replaced() -> None:
    async def scenario(client: HttpClient) -> None:
        async with origin(lambda head, body: ok(b""), close_after=1) as seen:
            for _ in range(3):
                assert (await client.request("GET", f"{seen.base}/")).status == 200
                await asyncio.sleep(0.01)  # let the close arrive, or not: both must work
            assert len(seen.connections) == 3

    run(scenario)


def test_a_pooled_connection_found_closed_on_use_is_retried_once_on_a_new_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def scenario(client: HttpClient) -> None:
        async with origin(lambda head, body: ok(body), close_after=1) as seen:
            assert (await client.request("POST", seen.base, {}, b"one")).body == b"one"
            await asyncio.sleep(0.05)  # the origin has closed the pooled connection by now
            # as when the close is still on its way: the connection is taken from the pool
            monkeypatch.setattr(_Connection, "usable", lambda self: True)
            assert (await client.request("POST", seen.base, {}, b"two")).body == b"two"
            assert len(seen.connections) == 2
            assert [request.endswith(b"two") for request in seen.requests] == [False, True]

    run(scenario)


def test_connections_closed_by_either_side_are_not_reused() -> None:
    def reply(head: bytes, body: bytes) -> bytes:
        return ok(b"bye", b"connection: close") if b"/close" in head else ok(body)

    async def scenario(client: HttpClient) -> None:
        async with origin(reply) as seen:
            assert (await client.request("GET", f"{seen.base}/close")).body == b"bye"
            assert (await client.request("POST", f"{seen.base}/", {}, b"again")).body == b"again"
            assert len(seen.connections) == 2
            for idle in client._idle.values():  # the pooled connection is dropped under it
                for connection in idle:
                    assert connection.transport is not None
                    connection.transport.abort()
            await asyncio.sleep(0.05)
            assert (await client.request("POST", f"{seen.base}/", {}, b"again")).body == b"again"
            assert len(seen.connections) == 3

    run(scenario)


CHUNKED = (
    b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
    b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nx-trailer: 1\r\n\r\n"
)


def test_a_chunked_answer_is_read_and_the_connection_kept() -> None:
    async def scenario(client: HttpClient) -> None:
        async with origin(lambda head, body: CHUNKED) as seen:
            for _ in range(2):
                answer = await client.request("GET", f"{seen.base}/")
                assert (answer.status, answer.body) == (200, b"hello, world")
            assert len(seen.connections) == 1

    run(scenario)


def test_answers_over_the_limit_are_cut_off() -> None:
    def reply(head: bytes, body: bytes) -> bytes:
        if b"/chunked" in head:
            chunk = b"258\r\n" + b"y" * 600 + b"\r\n"  # 0x258 = 600
            return b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n%s0\r\n\r\n" % (
                chunk * 10
            )
        if b"/until-close" in head:
            return b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n" + b"z" * 5000
        return ok(b"x" * 5000)

    async def scenario(client: HttpClient) -> None:
        async with origin(reply, close_after=1) as seen:
            for path in ("/big", "/chunked", "/until-close"):
                with pytest.raises(AnswerTooLarge):
                    await client.request("GET", seen.base + path, max_body=4096)
            answer = await client.request("GET", f"{seen.base}/chunked", max_body=10_000)
            assert answer.body == b"y" * 6000
            answer = await client.request("GET", f"{seen.base}/until-close", max_body=10_000)
            assert answer.body == b"z" * 5000

    run(scenario)
    assert issubclass(AnswerTooLarge, OSError)


def test_a_slow_origin_times_out() -> None:
    async def scenario(client: HttpClient) -> None:
        async with origin(lambda head, body: ok(b"late"), delay=2.0) as seen:
            with pytest.raises(HttpTimeout) as caught:
                await client.request("GET", f"{seen.base}/slow", timeout=0.3)
            assert isinstance(caught.value, TimeoutError)
            assert isinstance(caught.value, HttpError)

    run(scenario)


def test_an_unreachable_origin_and_other_schemes_are_refused() -> None:
    async def scenario(client: HttpClient) -> None:
        with pytest.raises(HttpError, match=r"Connect call failed|refused"):
            await client.request("GET", "http://127.0.0.1:1/x")
        with pytest.raises(HttpError, match="http"):
            await client.request("GET", "ftp://example.org/x")
        with pytest.raises(HttpError, match="port"):
            await client.request("GET", "http://127.0.0.1:99999/x")
        with pytest.raises(HttpError, match="target"):
            await client.request("GET", "http://127.0.0.1/a b")

    run(scenario)


@pytest.mark.parametrize(
    "headers",
    [{"x-test": "1\r\nx-evil: 1"}, {"bad name": "1"}, {"x-test": "\u20ac"}],
)
def test_headers_that_cannot_be_sent_are_refused_before_connecting(
    headers: dict[str, str],
) -> None:
    async def scenario(client: HttpClient) -> None:
        async with origin(lambda head, body: ok(b"")) as seen:
            for _ in range(2):  # refused again: a refusal is not remembered as a pass
                with pytest.raises(HttpError, match="header"):
                    await client.request("GET", f"{seen.base}/", headers)
            with pytest.raises(HttpError, match="method"):
                await client.request("GET /x", f"{seen.base}/")
            assert seen.connections == []

    run(scenario)


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (
            b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n0\r\n\r\n",
            "both",
        ),
        (b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\nabcd", "conflicting"),
        (b"HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n", "not a number"),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", "chunk"),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabcde0\r\n\r\n", "chunk"),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n", "gzip"),
        (b"HTTP/1.1 200 OK\r\nx-a: 1\r\n folded\r\ncontent-length: 0\r\n\r\n", "malformed"),
        (b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort", "mid-answer"),
        (b"HTTP/1.1 101 Switching Protocols\r\nupgrade: h2c\r\n\r\n", "switched"),
        (b"SPDY/3 200 OK\r\n\r\n", "status line"),
    ],
)
def test_answers_framed_ambiguously_or_badly_are_refused(answer: bytes, reason: str) -> None:
    async def scenario(client: HttpClient) -> None:
        async with origin(lambda head, body: answer, close_after=1) as seen:
            with pytest.raises(HttpError, match=reason):
                await client.request("GET", f"{seen.base}/x")
            assert client._idle[("http", "127.0.0.1", int(seen.base.rsplit(":", 1)[1]))] == []

    run(scenario)


def test_interim_answers_are_skipped_and_repeated_headers_joined() -> None:
    answer = (
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n"
        b"x-a: 1\r\nx-a: 2\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\ntrailer: t\r\n\r\n"
    )

    async def scenario(client: HttpClient) -> None:
        async with origin(lambda head, body: answer) as seen:
            first = await client.request("GET", f"{seen.base}/x")
            assert (first.status, first.body, first.headers["x-a"]) == (201, b"abcde", "1, 2")

    run(scenario)


def test_an_http_1_0_answer_is_read_to_the_connection_end_and_not_kept() -> None:
    async def scenario(client: HttpClient) -> None:
        reply = b"HTTP/1.0 200 OK\r\n\r\nuntil the end"
        async with origin(lambda head, body: reply, close_after=1) as seen:
            for _ in range(2):
                assert (await client.request("GET", f"{seen.base}/x")).body == b"until the end"
            assert len(seen.connections) == 2

    run(scenario)


def test_head_and_204_answers_have_no_body() -> None:
    def reply(head: bytes, body: bytes) -> bytes:
        if head.startswith(b"HEAD"):
            return b"HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n"
        return b"HTTP/1.1 204 No Content\r\n\r\n"

    async def scenario(client: HttpClient) -> None:
        async with origin(reply) as seen:
            assert (await client.request("HEAD", f"{seen.base}/")).body == b""
            answer = await client.request("DELETE", f"{seen.base}/")
            assert (answer.status, answer.body) == (204, b"")
            assert len(seen.connections) == 1

    run(scenario)


def test_an_answer_arriving_in_pieces_is_read_whole_and_a_head_past_the_limit_refused() -> None:
    answer = (
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nx-a: 1\r\n"
        b"transfer-encoding: chunked\r\n\r\n5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n"
    )

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if b"/big-head" in head:
                    writer.write(b"HTTP/1.1 200 OK\r\n" + b"x-pad: 1\r\n" * 200)
                    await writer.drain()
                    continue
                for at in range(0, len(answer), 7):  # one packet per few bytes
                    writer.write(answer[at : at + 7])
                    await writer.drain()
                    await asyncio.sleep(0.001)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        client = HttpClient(timeout=5.0, max_head=1024)
        try:
            for _ in range(2):
                answer = await client.request("GET", f"{base}/pieces")
                assert (answer.status, answer.headers["x-a"], answer.body) == (
                    200,
                    "1",
                    b"hello, world",
                )
            with pytest.raises(HttpError, match="head is too large"):
                await client.request("GET", f"{base}/big-head")
        finally:
            await client.aclose()
            server.close()
            await asyncio.sleep(0.01)

    asyncio.run(main())
