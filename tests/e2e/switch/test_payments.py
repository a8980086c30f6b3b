"""Payments through the switch over real HTTP, between two simulated FSPs: every path of the
transfer, with the hub's positions checked exactly through its admin API after each (as what
the payment changed: the tests of a module share one hub)."""

from __future__ import annotations

import time

import pytest

from baobab.kernel.ids import new_id
from tests.e2e.switch.conftest import Fsp, Network

pytestmark = pytest.mark.e2e


def moved(network: Network, before: dict[str, dict[str, int]], amount: int) -> None:
    """``amount`` went from the payer to the payee; nothing is left reserved."""
    after = network.positions()
    payer, payee = network.payer.fsp_id, network.payee.fsp_id
    for fsp, sign in ((payer, 1), (payee, -1)):
        assert after[fsp]["netPosition"] - before[fsp]["netPosition"] == sign * amount
        assert after[fsp]["headroom"] - before[fsp]["headroom"] == -sign * amount
        assert after[fsp]["reserved"] == 0
        assert after[fsp]["liquidity"] == before[fsp]["liquidity"]


def received(fsp: Fsp, transfer_id: str) -> list[tuple[str, bool]]:
    """(method, is an error) of each message the FSP got from the hub about the transfer."""
    journal = fsp.control(
        "GET", "/sim/journal", params={"resource": "transfers", "id": transfer_id}
    ).json()
    return [(r["method"], r["error"]) for r in journal["received"]]


def told_of_failure(fsp: Fsp, transfer_id: str) -> bool:
    """The hub refused the FSP's callback or sent it an error about the transfer."""
    journal = fsp.control(
        "GET", "/sim/journal", params={"resource": "transfers", "id": transfer_id}
    )
    body = journal.json()
    return any(r["error"] for r in body["received"]) or any(
        transfer_id in failure for failure in body["failures"]
    )


def test_a_payment_is_looked_up_quoted_and_committed(fresh: Network) -> None:
    before = fresh.positions()
    outcome = fresh.pay("2500")
    assert outcome["state"] == "COMMITTED", outcome
    assert outcome["payeeFsp"] == "bankb"
    assert outcome["fulfilment"]
    moved(fresh, before, 2500)


def test_a_transfer_on_a_quote_held_is_committed(fresh: Network) -> None:
    before = fresh.positions()
    outcome = fresh.transfer("1200")
    assert outcome["state"] == "COMMITTED", outcome
    moved(fresh, before, 1200)


def test_a_payee_that_reserves_gets_the_commit_by_patch(fresh: Network) -> None:
    fresh.payee.control("PUT", "/sim/behaviour", json={"transfers": "reserve"})
    before = fresh.positions()
    outcome = fresh.transfer("700")
    # The payer learns the outcome, COMMITTED, from the hub; the payee gets the PATCH.
    assert outcome["state"] == "COMMITTED", outcome
    transfer_id = outcome["transferId"]
    for _ in range(100):  # the PATCH follows the payer's callback through the outbox
        journal = fresh.payee.control("GET", "/sim/journal", params={"id": transfer_id}).json()
        patches = [r for r in journal["received"] if r["method"] == "PATCH"]
        if patches:
            break
        time.sleep(0.05)
    assert [p["body"]["transferState"] for p in patches] == ["COMMITTED"]
    moved(fresh, before, 700)


def test_a_payee_that_refuses_aborts_the_transfer(fresh: Network) -> None:
    fresh.payee.control("PUT", "/sim/behaviour", json={"transfers": "refuse"})
    before = fresh.positions()
    outcome = fresh.transfer("2500")
    assert (outcome["state"], outcome["errorCode"]) == ("ABORTED", "5105"), outcome
    moved(fresh, before, 0)


def test_a_payee_that_never_answers_lets_the_transfer_expire(fresh: Network) -> None:
    fresh.payee.control("PUT", "/sim/behaviour", json={"transfers": "never"})
    before = fresh.positions()
    outcome = fresh.transfer("2500", expirationSeconds=2)
    assert (outcome["state"], outcome["errorCode"]) == ("ABORTED", "3303"), outcome
    assert received(fresh.payee, outcome["transferId"]) == [("POST", False), ("PUT", True)]
    moved(fresh, before, 0)


def test_a_fulfilment_after_expiry_is_refused(fresh: Network) -> None:
    fresh.payee.control("PUT", "/sim/behaviour", json={"delay_seconds": 3.5})
    before = fresh.positions()
    outcome = fresh.transfer("2500", expirationSeconds=2)
    assert (outcome["state"], outcome["errorCode"]) == ("ABORTED", "3303"), outcome
    for _ in range(150):  # the payee answers 3.5 s after the request
        if told_of_failure(fresh.payee, outcome["transferId"]):
            break
        time.sleep(0.05)
    assert told_of_failure(fresh.payee, outcome["transferId"])
    moved(fresh, before, 0)


def test_a_wrong_fulfilment_aborts_the_transfer(fresh: Network) -> None:
    fresh.payee.control("PUT", "/sim/behaviour", json={"transfers": "wrong-fulfilment"})
    before = fresh.positions()
    outcome = fresh.transfer("2500")
    assert outcome["state"] == "ABORTED", outcome
    assert outcome["errorCode"] is not None
    moved(fresh, before, 0)


def test_an_fsp_asks_the_hub_for_a_transfer_by_callback(fresh: Network) -> None:
    outcome = fresh.transfer("300")
    transfer_id = outcome["transferId"]
    asked = fresh.payer.control("POST", f"/sim/transfers/{transfer_id}/query").json()
    assert (asked["state"], asked["fulfilment"]) == ("COMMITTED", outcome["fulfilment"])
    unknown = fresh.payee.control("POST", f"/sim/transfers/{new_id()}/query").json()
    assert (unknown["state"], unknown["errorCode"]) == ("ABORTED", "3208")
