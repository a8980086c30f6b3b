"""The simulated payee answers the hub as its behaviour says, with callbacks that hold up."""

from __future__ import annotations

import asyncio
from typing import Any

from baobab.fspsim import Simulator
from baobab.kernel.ids import new_id
from baobab.switch.fspiop import fulfils
from tests.unit.fspsim.support import FakeHub, call, settled, simulator

PARTY = "/parties/MSISDN/22507000001"


def quote_request(amount: str = "1000", amount_type: str = "SEND") -> dict[str, Any]:
    return {
        "quoteId": new_id(),
        "transactionId": new_id(),
        "payee": {"partyIdInfo": {"partyIdType": "MSISDN", "partyIdentifier": "22507000001"}},
        "payer": {"partyIdInfo": {"partyIdType": "MSISDN", "partyIdentifier": "1", "fspId": "a"}},
        "amountType": amount_type,
        "amount": {"currency": "XOF", "amount": amount},
        "transactionType": {
            "scenario": "TRANSFER",
            "initiator": "PAYER",
            "initiatorType": "CONSUMER",
        },
    }


async def quoted(sim: Simulator, hub: FakeHub, **request: Any) -> dict[str, Any]:
    body = quote_request(**request)
    assert (await call(sim, "POST", "/quotes", "quotes", body)).status_code == 202
    await settled(hub, len(hub.sent) + 1)
    [answer] = hub.bodies("PUT", f"/quotes/{body['quoteId']}")
    return dict(answer)


def transfer_request(quote: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {
        "transferId": new_id(),
        "payerFsp": "banka",
        "payeeFsp": "bankb",
        "amount": quote["transferAmount"],
        "ilpPacket": quote["ilpPacket"],
        "condition": quote["condition"],
        "expiration": "2999-01-01T00:00:00.000Z",
        **changes,
    }


async def transferred(sim: Simulator, hub: FakeHub, body: dict[str, Any]) -> tuple[str, Any]:
    """(path, body) of the payee's answer to ``POST /transfers``."""
    before = len(hub.sent)
    assert (await call(sim, "POST", "/transfers", "transfers", body)).status_code == 202
    await settled(hub, before + 1)
    answer = hub.sent[-1]
    return answer.url.path.removeprefix("/switch"), hub.bodies(
        answer.method, answer.url.path.removeprefix("/switch")
    )[-1]


def test_a_party_it_holds_is_answered_with_its_fsp_id() -> None:
    async def scenario() -> None:
        hub = FakeHub()
        sim = simulator(hub)
        assert (await call(sim, "GET", PARTY, "parties")).status_code == 202
        await settled(hub, 1)
        [answer] = hub.bodies("PUT", PARTY)
        assert answer["party"]["partyIdInfo"]["fspId"] == "bankb"
        assert answer["party"]["personalInfo"]["complexName"] == {
            "firstName": "Awa",
            "lastName": "Kone",
        }
        assert hub.sent[0].headers["fspiop-destination"] == "banka"
        assert hub.sent[0].headers["authorization"] == "Bearer token"

    asyncio.run(scenario())


def test_a_party_it_does_not_hold_gets_error_3204() -> None:
    async def scenario() -> None:
        hub = FakeHub()
        sim = simulator(hub)
        await call(sim, "GET", "/parties/MSISDN/999", "parties")
        await settled(hub, 1)
        [answer] = hub.bodies("PUT", "/parties/MSISDN/999/error")
        assert answer["errorInformation"]["errorCode"] == "3204"

    asyncio.run(scenario())


def test_a_request_without_fspiop_headers_is_refused_3102() -> None:
    async def scenario() -> None:
        hub = FakeHub()
        sim = simulator(hub)
        answer = await call(sim, "GET", PARTY, "parties", headers={"fspiop-source": ""})
        assert answer.status_code == 400
        assert answer.json()["errorInformation"]["errorCode"] == "3102"
        assert hub.sent == []

    asyncio.run(scenario())


def test_the_quote_carries_the_fee_and_the_fulfilment_fits_its_condition() -> None:
    async def scenario() -> None:
        hub = FakeHub()
        sim = simulator(hub)
        sim.behave(fee_minor=25)
        quote = await quoted(sim, hub, amount="1000")
        assert quote["transferAmount"] == {"currency": "XOF", "amount": "1000"}
        assert quote["payeeReceiveAmount"] == {"currency": "XOF", "amount": "975"}
        assert quote["payeeFspFee"] == {"currency": "XOF", "amount": "25"}
        _, answer = await transferred(sim, hub, transfer_request(quote))
        assert answer["transferState"] == "COMMITTED"
        assert fulfils(answer["fulfilment"], quote["condition"])

    asyncio.run(scenario())


def test_a_receive_amount_quote_adds_the_fee_to_the_transfer_amount() -> None:
    async def scenario() -> None:
        hub = FakeHub()
        sim = simulator(hub)
        sim.behave(fee_minor=25)
        quote = await quoted(sim, hub, amount="1000", amount_type="RECEIVE")
        assert quote["transferAmount"]["amount"] == "1025"
        assert quote["payeeReceiveAmount"]["amount"] == "1000"

    asyncio.run(scenario())


def test_a_payee_that_reserves_answers_reserved_with_the_fulfilment() -> None:
    async def scenario() -> None:
        hub = FakeHub()
        sim = simulator(hub)
        quote = await quoted(sim, hub)
        sim.behave(transfers="reserve")
        _, answer = await transferred(sim, hub, transfer_request(quote))
        assert answer["transferState"] == "RESERVED"
        assert fulfils(answer["fulfilment"], quote["condition"])

    asyncio.run(scenario())


def test_a_wrong_fulfilment_does_not_fit_the_condition() -> None:
    async def scenario() -> None:
        hub = FakeHub()
        sim = simulator(hub)
        quote = await quoted(sim, hub)
        sim.behave(transfers="wrong-fulfilment")
        _, answer = await transferred(sim, hub, transfer_request(quote))
        assert answer["transferState"] == "COMMITTED"
        assert not fulfils(answer["fulfilment"], quote["condition"])

    asyncio.run(scenario())


def test_a_refusing_payee_sends_its_refusal_code() -> None:
    async def scenario() -> None:
        hub = FakeHub()
        sim = simulator(hub)
        quote = await quoted(sim, hub)
        sim.behave(transfers="refuse", refusal_code="5104")
        body = transfer_request(quote)
        path, answer = await transferred(sim, hub, body)
        assert path == f"/transfers/{body['transferId']}/error"
        assert answer["errorInformation"]["errorCode"] == "5104"

    asyncio.run(scenario())


def test_a_silent_payee_acknowledges_and_never_answers() -> None:
    async def scenario() -> None:
        hub = FakeHub()
        sim = simulator(hub)
        quote = await quoted(sim, hub)
        sim.behave(transfers="never")
        answer = await call(sim, "POST", "/transfers", "transfers", transfer_request(quote))
        assert answer.status_code == 202
        assert sim.payee.pending == 0
        assert len(hub.sent) == 1  # the quote's answer only

    asyncio.run(scenario())


def test_a_transfer_whose_amount_differs_from_the_packet_is_refused() -> None:
    async def scenario() -> None:
        hub = FakeHub()
        sim = simulator(hub)
        quote = await quoted(sim, hub)
        body = transfer_request(quote, amount={"currency": "XOF", "amount": "999"})
        path, answer = await transferred(sim, hub, body)
        assert path.endswith("/error")
        assert answer["errorInformation"]["errorCode"] == "3100"

    asyncio.run(scenario())


def test_a_packet_from_another_payee_is_refused() -> None:
    async def scenario() -> None:
        hub = FakeHub()
        sim, other = simulator(hub), simulator(hub)
        quote = await quoted(other, hub)
        path, answer = await transferred(sim, hub, transfer_request(quote))
        assert path.endswith("/error")
        assert "condition" in answer["errorInformation"]["errorDescription"]

    asyncio.run(scenario())


def test_a_payee_that_forgot_its_quotes_still_fulfils_from_the_packet() -> None:
    async def scenario() -> None:
        hub = FakeHub()
        secret = bytes(range(32))
        quote = await quoted(simulator(hub, secret=secret), hub)
        restarted = simulator(hub, secret=secret)  # same secret, nothing remembered
        _, answer = await transferred(restarted, hub, transfer_request(quote))
        assert answer["transferState"] == "COMMITTED"
        assert fulfils(answer["fulfilment"], quote["condition"])

    asyncio.run(scenario())


def test_another_packet_under_a_remembered_condition_is_refused() -> None:
    async def scenario() -> None:
        hub = FakeHub()
        sim = simulator(hub)
        first, second = await quoted(sim, hub), await quoted(sim, hub, amount="2000")
        body = transfer_request(first, ilpPacket=second["ilpPacket"])
        path, answer = await transferred(sim, hub, body)
        assert path.endswith("/error")
        assert answer["errorInformation"]["errorCode"] == "3100"
        assert "condition" in answer["errorInformation"]["errorDescription"]

    asyncio.run(scenario())
