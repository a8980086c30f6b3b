"""The control API answers only the holder of the control token, and checks what it is given."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from baobab.fspsim import Simulator, build_app
from tests.unit.fspsim.support import FakeHub, simulator


async def control(
    sim: Simulator, method: str, path: str, token: str | None, **kw: object
) -> httpx.Response:
    transport = httpx.ASGITransport(app=build_app(sim))
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        headers = {"authorization": f"Bearer {token}"} if token is not None else {}
        return await client.request(method, path, headers=headers, **kw)  # type: ignore[arg-type]


def answering(sim: Simulator) -> str:
    return sim.config.behaviour.transfers


@pytest.mark.parametrize(
    ("configured", "given"),
    [("control", None), ("control", "other"), (None, "None"), (None, "")],
)
def test_the_control_api_refuses_a_caller_without_the_token(
    configured: str | None, given: str | None
) -> None:
    async def scenario() -> None:
        hub = FakeHub()
        sim = simulator(hub, control_token=configured)
        for method, path in (
            ("POST", "/sim/payments"),
            ("POST", "/sim/transfers"),
            ("GET", "/sim/transfers/x"),
            ("POST", "/sim/transfers/x/query"),
            ("GET", "/sim/journal"),
            ("PUT", "/sim/behaviour"),
            ("POST", "/sim/parties/register"),
        ):
            answer = await control(sim, method, path, given, json={"transfers": "refuse"})
            assert answer.status_code == 401, (method, path)
        assert sim.config.behaviour.transfers == "commit"
        assert hub.sent == []

    asyncio.run(scenario())


def test_the_behaviour_changes_only_to_a_valid_one() -> None:
    async def scenario() -> None:
        sim = simulator(FakeHub())
        bad = await control(sim, "PUT", "/sim/behaviour", "control", json={"transfers": "maybe"})
        assert bad.status_code == 400
        unknown = await control(sim, "PUT", "/sim/behaviour", "control", json={"colour": "red"})
        assert unknown.status_code == 400
        assert answering(sim) == "commit"
        good = await control(sim, "PUT", "/sim/behaviour", "control", json={"transfers": "never"})
        assert good.json()["behaviour"]["transfers"] == "never"
        assert answering(sim) == "never"

    asyncio.run(scenario())


def test_a_payment_without_an_amount_is_refused_and_nothing_is_sent() -> None:
    async def scenario() -> None:
        hub = FakeHub()
        sim = simulator(hub)
        body = {"payee": {"type": "MSISDN", "id": "1"}, "amount": "1.5x", "currency": "XOF"}
        answer = await control(sim, "POST", "/sim/payments", "control", json=body)
        assert answer.status_code == 400
        assert hub.sent == []

    asyncio.run(scenario())


def test_an_outcome_not_yet_known_is_404() -> None:
    async def scenario() -> None:
        sim = simulator(FakeHub())
        answer = await control(sim, "GET", "/sim/transfers/unknown?timeout=0", "control")
        assert answer.status_code == 404

    asyncio.run(scenario())
