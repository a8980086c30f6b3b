"""Settlement windows end to end: transfers committed in a window, the window closed, its
net positions frozen and settled in the ledger, positions reset, the report in JSON and CSV."""

from __future__ import annotations

from datetime import timedelta

from tests.api.switch.conftest import Hub


def _pay(hub: Hub, amount: str, payer: str = "bank-a", payee: str = "bank-b") -> None:
    body, fulfilment = hub.prepare(amount=amount, payer=payer, payee=payee)
    hub.deliver()
    assert hub.fulfil(body["transferId"], fulfilment, source=payee).status_code == 200
    hub.deliver()
    hub.clock.advance(timedelta(seconds=1))


def test_a_window_is_closed_frozen_and_settled(hub: Hub) -> None:
    _pay(hub, "100")
    _pay(hub, "30", payer="bank-b", payee="bank-a")
    closed = hub.admin("POST", "/settlement/windows/close")
    assert closed.status_code == 200, closed.text
    window = closed.json()["windowId"]
    assert closed.json()["state"] == "CLOSED"
    nets = {p["fspId"]: p["net"] for p in closed.json()["positions"]}
    assert nets == {"bank-a": "-70", "bank-b": "70"}
    # a transfer after the close belongs to the next window
    _pay(hub, "5")
    too_soon = hub.admin("POST", f"/settlement/windows/{window}/start")
    assert (too_soon.status_code, too_soon.json()["code"]) == (409, "switch.window_state")
    hub.clock.advance(timedelta(seconds=31))
    started = hub.admin("POST", f"/settlement/windows/{window}/start")
    assert started.json()["state"] == "PENDING_SETTLEMENT"
    settled = hub.admin("POST", f"/settlement/windows/{window}/settle")
    assert settled.status_code == 200, settled.text
    assert settled.json()["state"] == "SETTLED"
    a, b = hub.position("bank-a"), hub.position("bank-b")
    # funds moved: A paid 70 from its free liquidity, B received 70; positions reset to the
    # cap except for the 5 of the next window
    assert (a["liquidity"], a["netPosition"], a["headroom"]) == ("430", "5", "495")
    assert (b["liquidity"], b["netPosition"], b["headroom"]) == ("570", "-5", "505")
    again = hub.admin("POST", f"/settlement/windows/{window}/settle")
    assert again.status_code == 409


def test_the_report_comes_as_csv(hub: Hub) -> None:
    _pay(hub, "12.5")
    window = hub.admin("POST", "/settlement/windows/close").json()["windowId"]
    answer = hub.admin("GET", f"/settlement/windows/{window}/report?format=csv")
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.text.splitlines() == [
        "window_id,state,fsp_id,currency,sent,received,net,transfers",
        f"{window},CLOSED,bank-a,USD,12.5,0,-12.5,1",
        f"{window},CLOSED,bank-b,USD,0,12.5,12.5,1",
    ]


def test_a_payer_without_free_liquidity_blocks_settlement(hub: Hub) -> None:
    cap = {"netDebitCap": {"amount": "1000", "currency": "USD"}}
    assert hub.admin("PUT", "/participants/bank-a/limits", cap).status_code == 200
    _pay(hub, "100")
    window = hub.admin("POST", "/settlement/windows/close").json()["windowId"]
    hub.clock.advance(timedelta(minutes=1))
    hub.admin("POST", f"/settlement/windows/{window}/start")
    refused = hub.admin("POST", f"/settlement/windows/{window}/settle")
    assert (refused.status_code, refused.json()["code"]) == (409, "switch.ledger_refused")
    assert (
        hub.admin("GET", f"/settlement/windows/{window}/report").json()["state"]
        == "PENDING_SETTLEMENT"
    )
    assert hub.position("bank-b")["liquidity"] == "500"
    # lowering the cap frees liquidity; the settlement then goes through
    lower = {"netDebitCap": {"amount": "500", "currency": "USD"}}
    assert hub.admin("PUT", "/participants/bank-a/limits", lower).status_code == 200
    settled = hub.admin("POST", f"/settlement/windows/{window}/settle")
    assert settled.status_code == 200, settled.text
    assert hub.position("bank-b")["liquidity"] == "600"
