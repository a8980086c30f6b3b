"""The provider client over httpx: one pooled transport, a timeout per message, the response
body read as it streams in and cut off at the limit.

It talks to the transport directly rather than through ``httpx.AsyncClient``: the gateway needs
none of a client's cookies, redirects, auth or URL merging, and skipping them is a third of the
forwarding cost on the hot path.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from baobab.exchange.domain import ProviderTimeout, ProviderUnreachable, ResponseTooLarge
from baobab.exchange.ports import ProviderRequest, ProviderResponse


class HttpxProviderClient:
    """Sends requests to providers. ``transport`` lets tests and in-process providers plug in
    an ``httpx.MockTransport`` or ``httpx.ASGITransport``."""

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 200,
    ) -> None:
        self._transport = transport or httpx.AsyncHTTPTransport(
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            trust_env=False,
        )

    async def send(
        self, request: ProviderRequest, *, timeout: float, max_body: int
    ) -> ProviderResponse:
        outbound = httpx.Request(
            request.method,
            request.url,
            headers=dict(request.headers),
            content=request.body,
            extensions={
                "timeout": {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
            },
        )
        try:
            response = await self._transport.handle_async_request(outbound)
            try:
                declared = response.headers.get("content-length")
                if declared is not None and declared.isdigit() and int(declared) > max_body:
                    raise ResponseTooLarge(f"the provider's answer exceeds {max_body} bytes")
                parts: list[bytes] = []
                size = 0
                stream = response.stream
                if not isinstance(stream, httpx.AsyncByteStream):
                    raise ProviderUnreachable("the transport gave no asynchronous body stream")
                async for chunk in stream:
                    size += len(chunk)
                    if size > max_body:
                        raise ResponseTooLarge(f"the provider's answer exceeds {max_body} bytes")
                    parts.append(chunk)
            finally:
                await response.aclose()
        except httpx.TimeoutException as exc:
            raise ProviderTimeout(f"the provider did not answer within {timeout} s") from exc
        except httpx.HTTPError as exc:
            raise ProviderUnreachable(f"the provider could not be reached: {exc}") from exc
        headers = {name.lower(): value for name, value in response.headers.items()}
        return ProviderResponse(response.status_code, headers, b"".join(parts))

    async def aclose(self) -> None:
        await self._transport.aclose()


class HttpxWebhookSender:
    """POSTs pub/sub events to push subscribers; anything but a 2xx in time is a failure."""

    def __init__(
        self, *, transport: httpx.AsyncBaseTransport | None = None, timeout: float = 10.0
    ) -> None:
        self._transport = transport
        self._timeout = timeout
        # made at the first delivery: a client loads the TLS trust store, which every process
        # that builds the platform (the CLI, each test) would otherwise pay for at start
        self._client: httpx.AsyncClient | None = None

    async def deliver(self, endpoint: str, body: bytes, headers: Mapping[str, str]) -> bool:
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=self._transport, timeout=self._timeout, trust_env=False
            )
        try:
            response = await self._client.post(endpoint, content=body, headers=dict(headers))
        except httpx.HTTPError:
            return False
        return 200 <= response.status_code < 300

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
