"""The gateway over the SQL store and the httpx provider client, on SQLite and PostgreSQL: a
real registry app answers in process; failures come from ``httpx.MockTransport`` providers; a
store that cannot write refuses the message."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import TracebackType

import httpx
import pytest
from sqlalchemy import text

from baobab.bootstrap import Platform
from baobab.directory import ClientId
from baobab.exchange import ConsumerCall, GatewayAnswer, GatewayLimits
from baobab.exchange.adapters.sql import SqlExchangeUnitOfWork
from baobab.exchange.gateway import Gateway
from tests.integration.exchange.conftest import (
    Exchange,
    build_exchange,
    parties,
)
from tests.support import register


async def _body(data: bytes) -> AsyncIterator[bytes]:
    yield data


def call(
    gateway: Gateway,
    ministry: str,
    provider: str,
    *,
    target: str = "/births/B-2025-000117",
    method: str = "GET",
    body: bytes = b"",
) -> GatewayAnswer:
    headers = {"x-road-client": ministry, "content-type": "application/json"}
    return asyncio.run(
        gateway.exchange(
            ConsumerCall(
                ministry,
                ministry,
                ClientId.parse(provider),
                "births",
                method,
                target,
                headers,
                _body(body),
            )
        )
    )


def test_a_query_reaches_the_registry_signed_and_is_logged(exchange: Exchange) -> None:
    ministry, provider = str(exchange.ministry.client_id), str(exchange.provider.client_id)
    answer = call(exchange.gateway, ministry, provider)
    assert answer.error is None, answer.error
    assert answer.status == 200
    assert b"North" in answer.body
    entry = exchange.log.entry(answer.message_id)
    assert entry.payload["outcome"] == "ok"
    assert entry.payload["provider_signature"]  # the registry signed; the gateway checked it
    echoed = call(
        exchange.gateway, ministry, provider, target="/echo", method="POST", body=b'{"a":1}'
    )
    assert (echoed.status, echoed.body) == (200, b'{"a":1}')
    assert exchange.log.verify().intact


def test_a_caller_without_the_right_is_refused_and_logged(exchange: Exchange) -> None:
    outsider = register(exchange.platform, "COM/ADCO/marketing", scopes=("exchange:call",))
    answer = call(exchange.gateway, str(outsider.client_id), str(exchange.provider.client_id))
    assert answer.headers["X-Road-Error"] == "directory.access_denied"
    assert exchange.log.entry(answer.message_id).payload["outcome"] == "refused"


def _failing_provider(wired: Platform, handler: httpx.MockTransport) -> tuple[Gateway, str, str]:
    registry, _, gateway = build_exchange(
        wired,
        transport=handler,
        limits=GatewayLimits(timeout=0.5, max_response_body=1000, decision_ttl=0),
    )
    provider, ministry = parties(wired, registry)
    return gateway, str(ministry.client_id), str(provider.client_id)


@pytest.mark.parametrize(
    ("handler", "code"),
    [
        (
            lambda r: (_ for _ in ()).throw(httpx.ReadTimeout("slow", request=r)),
            "exchange.provider_timeout",
        ),
        (
            lambda r: (_ for _ in ()).throw(httpx.ConnectError("refused", request=r)),
            "exchange.provider_unreachable",
        ),
        (lambda r: httpx.Response(200, content=b"x" * 5000), "exchange.response_too_large"),
        (
            lambda r: httpx.Response(200, headers={"x-road-request-hash": "C" * 43}, content=b"{}"),
            "exchange.request_hash_mismatch",
        ),
        (
            lambda r: httpx.Response(200, headers={"x-road-signature": "e30..c2ln"}, content=b"{}"),
            "exchange.bad_response_signature",
        ),
    ],
)
def test_provider_failures_are_refused(wired: Platform, handler: object, code: str) -> None:
    gateway, ministry, provider = _failing_provider(wired, httpx.MockTransport(handler))  # type: ignore[arg-type]
    answer = call(gateway, ministry, provider)
    assert answer.error is not None
    assert answer.error.code == code
    assert answer.body == b""


def test_a_streamed_response_over_the_limit_is_cut_off(wired: Platform) -> None:
    async def stream() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * 200

    gateway, ministry, provider = _failing_provider(
        wired, httpx.MockTransport(lambda r: httpx.Response(200, content=stream()))
    )
    answer = call(gateway, ministry, provider)
    assert answer.error is not None
    assert answer.error.code == "exchange.response_too_large"


class BrokenLogUnitOfWork(SqlExchangeUnitOfWork):
    """A real SQL unit of work whose log table has gone away mid-flight."""

    def __enter__(self) -> BrokenLogUnitOfWork:
        super().__enter__()
        store = self.log

        def insert_entries(entries: object) -> None:
            store._c.execute(text("INSERT INTO exchange_log_missing VALUES (1)"))

        store.insert_entries = insert_entries  # type: ignore[method-assign]
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        super().__exit__(exc_type, exc, tb)


def test_a_message_the_store_cannot_log_is_refused(wired: Platform) -> None:
    seen: list[httpx.Request] = []

    def provider_answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b'{"secret":"answer"}')

    registry, log, gateway = build_exchange(
        wired,
        transport=httpx.MockTransport(provider_answer),
        uow=lambda: BrokenLogUnitOfWork(wired.db),
    )
    provider, ministry = parties(wired, registry)
    answer = call(gateway, str(ministry.client_id), str(provider.client_id))
    assert answer.error is not None
    assert answer.error.code == "exchange.message_log_unavailable"
    assert b"secret" not in answer.body
    assert log.verify().entries == 0  # nothing half-written: the batch rolled back
