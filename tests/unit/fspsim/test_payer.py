"""The simulated payer runs lookup -> quote -> transfer and reports the outcome; here through a
relay that stands in for the hub (it forwards each message to the FSP it is meant for)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace

import httpx

from baobab.fspsim import Party, Simulator, SimulatorConfig, build_app
from baobab.kernel.clock import SystemClock
from baobab.kernel.money import Money
from baobab.kernel.signing import Signer
from tests.unit.fspsim.support import HUB, HttpxTransport


@dataclass
class Relay:
    """Forwards FSPIOP messages between simulators: lookups to the party's owner, the rest to
    ``FSPIOP-Destination``. No ledger, no checks: it tests the FSPs, not a switch."""

    fsps: dict[str, Simulator] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    refuse_transfers: bool = False

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth2/token"):
            return httpx.Response(200, json={"access_token": "token", "expires_in": 300})
        path = request.url.path.removeprefix("/switch")
        if request.method == "POST" and path == "/transfers" and self.refuse_transfers:
            error = {"errorInformation": {"errorCode": "4001", "errorDescription": "no liquidity"}}
            return httpx.Response(400, json=error)
        if request.method == "GET" and path.startswith("/parties/"):
            destination = self.owners[path]
        else:
            destination = request.headers["fspiop-destination"]
        headers = {k: v for k, v in request.headers.items() if k not in ("authorization", "host")}
        transport = httpx.ASGITransport(app=build_app(self.fsps[destination]))
        async with httpx.AsyncClient(transport=transport, base_url="http://fsp") as client:
            answer = await client.request(
                request.method, path, headers=headers, content=request.content
            )
        return httpx.Response(answer.status_code, content=answer.content)


def fsp(relay: Relay, fsp_id: str, party: Party) -> Simulator:
    config = SimulatorConfig(
        fsp_id=fsp_id,
        client_id=f"DEV/FSP/{fsp_id.upper()}/switch",
        hub_url=HUB,
        signer=Signer.generate(),
        currency="XOF",
        parties=(party,),
        callback_timeout_seconds=5,
    )
    sim = Simulator(config, clock=SystemClock(), transport=HttpxTransport(relay.handle))
    relay.fsps[fsp_id] = sim
    relay.owners[f"/parties/{party.id_type}/{party.id_value}"] = fsp_id
    return sim


def pair() -> tuple[Relay, Simulator, Simulator]:
    relay = Relay()
    payer = fsp(relay, "banka", Party("MSISDN", "111", "Kofi Mensah"))
    payee = fsp(relay, "bankb", Party("MSISDN", "222", "Awa Kone"))
    return relay, payer, payee


def test_a_payment_is_committed_and_its_outcome_can_be_awaited() -> None:
    async def scenario() -> None:
        _, payer, payee = pair()
        outcome = await payer.payer.pay("MSISDN", "222", Money(150_000, "XOF"))
        assert outcome.state == "COMMITTED"
        assert outcome.payee_fsp == "bankb"
        assert outcome.transfer_amount == "150000"
        assert outcome.fulfilment
        again = await payer.payer.outcome(outcome.transfer_id, timeout=0.1)
        assert again is not None
        assert again.state == "COMMITTED"
        kinds = [(r.method, r.resource) for r in payer.journal.entries]
        assert kinds == [("PUT", "parties"), ("PUT", "quotes"), ("PUT", "transfers")]
        asked = [(r.method, r.resource) for r in payee.journal.entries]
        assert asked == [("GET", "parties"), ("POST", "quotes"), ("POST", "transfers")]

    asyncio.run(scenario())


def test_a_refusing_payee_aborts_the_payment_with_its_code() -> None:
    async def scenario() -> None:
        _, payer, payee = pair()
        payee.behave(transfers="refuse")
        outcome = await payer.payer.pay("MSISDN", "222", Money(100, "XOF"))
        assert (outcome.state, outcome.stage, outcome.error_code) == (
            "ABORTED",
            "transfer",
            "5105",
        )

    asyncio.run(scenario())


def test_an_unknown_party_fails_at_the_lookup() -> None:
    async def scenario() -> None:
        relay, payer, _ = pair()
        relay.owners["/parties/MSISDN/333"] = "bankb"  # the oracle points at bankb, which has none
        outcome = await payer.payer.pay("MSISDN", "333", Money(100, "XOF"))
        assert (outcome.state, outcome.stage, outcome.error_code) == ("FAILED", "lookup", "3204")

    asyncio.run(scenario())


def test_a_quote_the_payee_never_answers_fails_after_the_timeout() -> None:
    async def scenario() -> None:
        _, payer, payee = pair()
        payer.config = replace(payer.config, callback_timeout_seconds=0.2)
        payee.behave(quotes="never")
        outcome = await payer.payer.pay("MSISDN", "222", Money(100, "XOF"))
        assert (outcome.state, outcome.stage, outcome.error_code) == ("FAILED", "quote", None)

    asyncio.run(scenario())


def test_a_transfer_the_hub_refuses_is_aborted_with_the_hubs_code() -> None:
    async def scenario() -> None:
        relay, payer, _ = pair()
        relay.refuse_transfers = True
        outcome = await payer.payer.pay("MSISDN", "222", Money(100, "XOF"))
        assert (outcome.state, outcome.stage, outcome.error_code) == (
            "ABORTED",
            "transfer",
            "4001",
        )
        assert payer.journal.received("transfers", outcome.transfer_id) == []

    asyncio.run(scenario())
