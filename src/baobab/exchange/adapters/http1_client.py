"""The gateway's production provider client: the platform's lean HTTP/1.1 client
(:mod:`baobab.infra.http.client`) with its errors told in the exchange's terms."""

from __future__ import annotations

from baobab.exchange.domain import ProviderTimeout, ProviderUnreachable, ResponseTooLarge
from baobab.exchange.ports import ProviderRequest, ProviderResponse
from baobab.infra.http.client import AnswerTooLarge, HttpClient, HttpError, HttpTimeout


class Http1ProviderClient:
    """Sends requests to providers over pooled HTTP/1.1 connections."""

    def __init__(self, *, max_idle_per_origin: int = 64, max_head: int = 64 * 1024) -> None:
        self._client = HttpClient(max_head=max_head, max_idle_per_origin=max_idle_per_origin)

    async def send(
        self, request: ProviderRequest, *, timeout: float, max_body: int
    ) -> ProviderResponse:
        try:
            answer = await self._client.request(
                request.method,
                request.url,
                request.headers,
                request.body,
                timeout=timeout,
                max_body=max_body,
            )
        except HttpTimeout as exc:
            raise ProviderTimeout(f"the provider did not answer within {timeout} s") from exc
        except AnswerTooLarge as exc:
            raise ResponseTooLarge(f"the provider's answer exceeds {max_body} bytes") from exc
        except HttpError as exc:
            raise ProviderUnreachable(f"the provider could not be reached: {exc}") from exc
        return ProviderResponse(answer.status, answer.headers, answer.body)

    async def aclose(self) -> None:
        await self._client.aclose()
