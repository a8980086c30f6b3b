"""The HTTP/1.1 provider client against a real uvicorn server: round trips on pooled connections,
limits, timeouts, unreachable providers and connections the provider closed."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from baobab.demo.exchange import serving
from baobab.demo.stack import free_port
from baobab.exchange import ProviderTimeout, ProviderUnreachable, ResponseTooLarge
from baobab.exchange.adapters.http1_client import Http1ProviderClient
from baobab.exchange.ports import ProviderRequest


async def echo(request: Request) -> Response:
    body = await request.body()
    headers = {"x-seen-query": request.url.query, "x-seen-header": request.headers["x-test"]}
    return Response(body, headers=headers, media_type="application/octet-stream")


async def big(request: Request) -> Response:
    return Response(b"x" * 5000)


async def chunked(request: Request) -> StreamingResponse:
    async def parts() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"y" * 600

    return StreamingResponse(parts())


async def slow(request: Request) -> Response:
    await asyncio.sleep(2)
    return Response(b"late")


async def closing(request: Request) -> Response:
    return Response(b"bye", headers={"connection": "close"})


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    app = Starlette(
        routes=[
            Route("/echo", echo, methods=["POST"]),
            Route("/big", big),
            Route("/chunked", chunked),
            Route("/slow", slow),
            Route("/close", closing),
        ]
    )
    with serving(app) as url:
        yield url


def send(
    client: Http1ProviderClient,
    url: str,
    *,
    method: str = "GET",
    body: bytes = b"",
    timeout: float = 5.0,
    max_body: int = 4096,
) -> object:
    request = ProviderRequest(method, url, {"x-test": "1"}, body)

    async def once() -> object:
        try:
            return await client.send(request, timeout=timeout, max_body=max_body)
        finally:
            await client.aclose()

    return asyncio.run(once())


def test_round_trips_reuse_the_connection(base: str) -> None:
    async def twice() -> list[object]:
        client = Http1ProviderClient()
        answers = []
        for payload in (b"one", b"two" * 100):
            request = ProviderRequest("POST", f"{base}/echo?a=1&b=2", {"x-test": "v"}, payload)
            answers.append(await client.send(request, timeout=5, max_body=4096))
        idle = sum(len(c) for c in client._idle.values())
        await client.aclose()
        return [*answers, idle]

    first, second, idle = asyncio.run(twice())
    assert first.status == 200  # type: ignore[attr-defined]
    assert first.body == b"one"  # type: ignore[attr-defined]
    assert first.headers["x-seen-query"] == "a=1&b=2"  # type: ignore[attr-defined]
    assert first.headers["x-seen-header"] == "v"  # type: ignore[attr-defined]
    assert second.body == b"two" * 100  # type: ignore[attr-defined]
    assert idle == 1


def test_answers_over_the_limit_are_cut_off(base: str) -> None:
    client = Http1ProviderClient()
    with pytest.raises(ResponseTooLarge):
        send(client, f"{base}/big")
    with pytest.raises(ResponseTooLarge):
        send(client, f"{base}/chunked")
    answer = send(client, f"{base}/chunked", max_body=10_000)
    assert answer.body == b"y" * 6000  # type: ignore[attr-defined]


def test_a_slow_provider_times_out(base: str) -> None:
    with pytest.raises(ProviderTimeout):
        send(Http1ProviderClient(), f"{base}/slow", timeout=0.3)


def test_an_unreachable_provider_is_reported() -> None:
    with pytest.raises(ProviderUnreachable):
        send(Http1ProviderClient(), f"http://127.0.0.1:{free_port()}/x")
    with pytest.raises(ProviderUnreachable):
        send(Http1ProviderClient(), "ftp://example.org/x")


def test_connections_the_provider_closed_are_not_reused(base: str) -> None:
    async def scenario() -> list[bytes]:
        client = Http1ProviderClient()
        seen = []
        request = ProviderRequest("GET", f"{base}/close", {"x-test": "1"}, b"")
        seen.append((await client.send(request, timeout=5, max_body=100)).body)
        echo = ProviderRequest("POST", f"{base}/echo", {"x-test": "1"}, b"again")
        seen.append((await client.send(echo, timeout=5, max_body=100)).body)
        for connections in client._idle.values():  # the provider drops an idle connection
            for connection in connections:
                connection.writer.transport.abort()
        await asyncio.sleep(0.05)
        seen.append((await client.send(echo, timeout=5, max_body=100)).body)
        await client.aclose()
        return seen

    assert asyncio.run(scenario()) == [b"bye", b"again", b"again"]


def raw_answers(*answers: bytes) -> tuple[str, Callable[[], None]]:
    """A server that answers each connection's request with the next raw bytes, then closes."""
    queue = list(answers)
    loop = asyncio.new_event_loop()
    port = free_port()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(queue.pop(0))
        await writer.drain()
        writer.close()

    server = loop.run_until_complete(asyncio.start_server(handle, "127.0.0.1", port))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def stop() -> None:
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.run_until_complete(server.wait_closed())
        loop.close()

    return f"http://127.0.0.1:{port}", stop


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\nabcd",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nx-a: 1\r\n folded\r\ncontent-length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort",
        b"SPDY/3 200 OK\r\n\r\n",
    ],
)
def test_answers_framed_ambiguously_or_badly_are_refused(answer: bytes) -> None:
    base, stop = raw_answers(answer)
    try:
        with pytest.raises(ProviderUnreachable):
            send(Http1ProviderClient(), f"{base}/x")
    finally:
        stop()


def test_chunked_interim_and_close_delimited_answers_are_read() -> None:
    base, stop = raw_answers(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n"
        b"x-a: 1\r\nx-a: 2\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\ntrailer: t\r\n\r\n",
        b"HTTP/1.0 200 OK\r\n\r\nuntil the end",
    )
    try:
        first = send(Http1ProviderClient(), f"{base}/x")
        assert first.status == 201  # type: ignore[attr-defined]
        assert first.body == b"abcde"  # type: ignore[attr-defined]
        assert first.headers["x-a"] == "1, 2"  # type: ignore[attr-defined]
        second = send(Http1ProviderClient(), f"{base}/x")
        assert second.body == b"until the end"  # type: ignore[attr-defined]
    finally:
        stop()


def test_headers_that_would_split_the_request_are_not_sent(base: str) -> None:
    client = Http1ProviderClient()
    request = ProviderRequest("GET", f"{base}/echo", {"x-test": "1\r\nx-evil: 1"}, b"")
    with pytest.raises(ProviderUnreachable):
        asyncio.run(client.send(request, timeout=5, max_body=100))
