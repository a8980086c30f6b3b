"""The h11 provider client against a real uvicorn server: round trips on pooled connections,
limits, timeouts, unreachable providers and connections the provider closed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from baobab.demo.exchange import serving
from baobab.demo.stack import free_port
from baobab.exchange import ProviderTimeout, ProviderUnreachable, ResponseTooLarge
from baobab.exchange.adapters.h11_client import H11ProviderClient
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
    client: H11ProviderClient,
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
        client = H11ProviderClient()
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
    client = H11ProviderClient()
    with pytest.raises(ResponseTooLarge):
        send(client, f"{base}/big")
    with pytest.raises(ResponseTooLarge):
        send(client, f"{base}/chunked")
    answer = send(client, f"{base}/chunked", max_body=10_000)
    assert answer.body == b"y" * 6000  # type: ignore[attr-defined]


def test_a_slow_provider_times_out(base: str) -> None:
    with pytest.raises(ProviderTimeout):
        send(H11ProviderClient(), f"{base}/slow", timeout=0.3)


def test_an_unreachable_provider_is_reported() -> None:
    with pytest.raises(ProviderUnreachable):
        send(H11ProviderClient(), f"http://127.0.0.1:{free_port()}/x")
    with pytest.raises(ProviderUnreachable):
        send(H11ProviderClient(), "ftp://example.org/x")


def test_connections_the_provider_closed_are_not_reused(base: str) -> None:
    async def scenario() -> list[bytes]:
        client = H11ProviderClient()
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
