"""A simulated FSP wired to a recording fake of the hub (httpx MockTransport), and a way to call
its ASGI app as the hub would."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from baobab.fspsim import Party, Simulator, SimulatorConfig, build_app
from baobab.kernel.clock import SystemClock
from baobab.kernel.signing import Signer
from baobab.switch.fspiop import outgoing_headers

HUB = "http://hub.test/switch"


@dataclass
class FakeHub:
    """Answers the token endpoint and accepts every FSPIOP request, keeping what it got."""

    sent: list[httpx.Request] = field(default_factory=list)
    answer: int = 202

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth2/token"):
            return httpx.Response(200, json={"access_token": "token", "expires_in": 300})
        self.sent.append(request)
        if self.answer >= 400:
            body = {"errorInformation": {"errorCode": "3100", "errorDescription": "bad"}}
            return httpx.Response(self.answer, json=body)
        return httpx.Response(self.answer if request.method in ("GET", "POST") else 200)

    def bodies(self, method: str, path: str) -> list[Any]:
        return [
            json.loads(r.content) if r.content else None
            for r in self.sent
            if r.method == method and r.url.path == "/switch" + path
        ]


class HttpxTransport:
    """The simulator's transport port over an httpx client (here with a MockTransport)."""

    def __init__(self, handler: Any) -> None:
        self.client = httpx.AsyncClient(transport=httpx.MockTransport(handler))

    async def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, bytes]:
        answer = await self.client.request(method, url, headers=dict(headers), content=body)
        return answer.status_code, answer.content

    async def aclose(self) -> None:
        await self.client.aclose()


def simulator(hub: FakeHub, **config: Any) -> Simulator:
    settings: dict[str, Any] = {
        "fsp_id": "bankb",
        "client_id": "DEV/FSP/BANKB/switch",
        "hub_url": HUB,
        "signer": Signer.generate(),
        "currency": "XOF",
        "parties": (Party("MSISDN", "22507000001", "Awa Kone", "Awa", "Kone"),),
        "control_token": "control",
        **config,
    }
    transport = HttpxTransport(hub.handle)
    return Simulator(SimulatorConfig(**settings), clock=SystemClock(), transport=transport)


def hub_headers(resource: str, *, body: bool, callback: bool = True) -> dict[str, str]:
    return outgoing_headers(
        resource,
        source="banka",
        destination="bankb",
        at=SystemClock().now(),
        has_body=body,
        expects_callback=callback,
    )


async def call(
    sim: Simulator, method: str, path: str, resource: str, body: Any = None, **kw: Any
) -> httpx.Response:
    """One request to the simulator's app, as the hub sends it."""
    transport = httpx.ASGITransport(app=build_app(sim))
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        headers = hub_headers(
            resource, body=body is not None, callback=method in ("GET", "POST")
        ) | kw.pop("headers", {})
        content = json.dumps(body).encode() if body is not None else None
        return await client.request(method, path, headers=headers, content=content, **kw)


async def settled(hub: FakeHub, count: int) -> None:
    """Wait until the simulator's callbacks have reached the fake hub."""
    for _ in range(500):
        if len(hub.sent) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"expected {count} requests at the hub, got {len(hub.sent)}")
