"""The gateway's provider client against a real uvicorn server: answers come back as the
provider sent them, and the HTTP client's failures are told in the exchange's terms (the client
itself is tested in tests/integration/infra/test_http_client.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from baobab.demo.exchange import serving
from baobab.demo.stack import free_port
from baobab.exchange import ProviderTimeout, ProviderUnreachable, ResponseTooLarge
from baobab.exchange.adapters.http1_client import Http1ProviderClient
from baobab.exchange.ports import ProviderRequest, ProviderResponse


async def echo(request: Request) -> Response:
    body = await request.body()
    headers = {"x-seen-query": request.url.query, "x-seen-header": request.headers["x-test"]}
    return Response(body, headers=headers, media_type="application/octet-stream")


async def big(request: Request) -> Response:
    return Response(b"x" * 5000)


async def slow(request: Request) -> Response:
    await asyncio.sleep(2)
    return Response(b"late")


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    app = Starlette(
        routes=[Route("/echo", echo, methods=["POST"]), Route("/big", big), Route("/slow", slow)]
    )
    with serving(app) as url:
        yield url


def send(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    timeout: float = 5.0,
) -> ProviderResponse:
    client = Http1ProviderClient()
    request = ProviderRequest(method, url, headers or {"x-test": "1"}, body)

    async def once() -> ProviderResponse:
        try:
            return await client.send(request, timeout=timeout, max_body=4096)
        finally:
            await client.aclose()

    return asyncio.run(once())


def test_the_provider_answer_comes_back(base: str) -> None:
    answer = send(f"{base}/echo?a=1&b=2", method="POST", headers={"x-test": "v"}, body=b"one")
    assert (answer.status, answer.body) == (200, b"one")
    assert answer.headers["x-seen-query"] == "a=1&b=2"
    assert answer.headers["x-seen-header"] == "v"


def test_an_answer_over_the_limit_is_too_large(base: str) -> None:
    with pytest.raises(ResponseTooLarge):
        send(f"{base}/big")


def test_a_slow_provider_times_out(base: str) -> None:
    with pytest.raises(ProviderTimeout):
        send(f"{base}/slow", timeout=0.3)


def test_an_unreachable_provider_is_reported(base: str) -> None:
    with pytest.raises(ProviderUnreachable):
        send(f"http://127.0.0.1:{free_port()}/x")
    with pytest.raises(ProviderUnreachable):
        send("ftp://example.org/x")
    with pytest.raises(ProviderUnreachable):
        send(f"{base}/echo", headers={"x-test": "1\r\nx-evil: 1"})
