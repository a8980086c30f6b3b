"""Bulk transfers: items reserved one by one within the cap, committed or voided one by one on
the payee's answer, one aggregate callback to the payer; rejection and expiry release all."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from baobab.kernel.ids import new_id
from baobab.switch.fspiop import condition_of, new_fulfilment
from baobab.switch.fspiop import datetime_text as iso
from tests.api.switch.conftest import Hub


def _bulk(
    hub: Hub, amounts: list[str], expires_in: timedelta = timedelta(minutes=1)
) -> tuple[dict[str, Any], list[str]]:
    fulfilments = [new_fulfilment() for _ in amounts]
    body = {
        "bulkTransferId": new_id(),
        "bulkQuoteId": new_id(),
        "payerFsp": "bank-a",
        "payeeFsp": "bank-b",
        "expiration": iso(hub.clock.now() + expires_in),
        "individualTransfers": [
            {
                "transferId": new_id(),
                "transferAmount": {"amount": amount, "currency": "USD"},
                "ilpPacket": "AYIBgQAAAAAAAASw",
                "condition": condition_of(f),
            }
            for amount, f in zip(amounts, fulfilments, strict=True)
        ],
    }
    answer = hub.fspiop(
        "POST",
        "/bulkTransfers",
        body,
        source="bank-a",
        destination="bank-b",
        resource="bulkTransfers",
    )
    assert answer.status_code == 202, answer.text
    return body, fulfilments


def test_items_are_reserved_and_committed_one_by_one(hub: Hub) -> None:
    body, fulfilments = _bulk(hub, ["100", "200", "300"])
    (forward,) = hub.deliver()
    assert (forward.fsp_id, forward.url) == ("bank-b", "http://bank-b.test/bulkTransfers")
    assert hub.position("bank-a")["reserved"] == "300"  # the third item is beyond the cap
    items = [t["transferId"] for t in body["individualTransfers"]]
    results = {
        "bulkTransferState": "COMPLETED",
        "individualTransferResults": [
            {"transferId": items[0], "fulfilment": fulfilments[0]},
            {"transferId": items[1], "fulfilment": new_fulfilment()},
        ],
    }
    path = f"/bulkTransfers/{body['bulkTransferId']}"
    answer = hub.fspiop(
        "PUT", path, results, source="bank-b", destination="bank-a", resource="bulkTransfers"
    )
    assert answer.status_code == 200, answer.text
    (report,) = hub.deliver()
    assert (report.fsp_id, report.url) == ("bank-a", f"http://bank-a.test{path}")
    outcome = json.loads(report.body)
    assert outcome["bulkTransferState"] == "COMPLETED"
    by_id = {r["transferId"]: r for r in outcome["individualTransferResults"]}
    assert by_id[items[0]]["fulfilment"] == fulfilments[0]
    assert by_id[items[1]]["errorInformation"]["errorCode"] == "3100"
    assert by_id[items[2]]["errorInformation"]["errorCode"] == "4001"
    payer = hub.position("bank-a")
    assert (payer["netPosition"], payer["reserved"], payer["headroom"]) == ("100", "0", "400")
    # the committed item counts in settlement like a single transfer
    hub.clock.advance(timedelta(seconds=1))
    closed = hub.admin("POST", "/settlement/windows/close").json()
    assert {p["fspId"]: p["net"] for p in closed["positions"]} == {
        "bank-a": "-100",
        "bank-b": "100",
    }


def test_a_rejected_bulk_releases_every_item(hub: Hub) -> None:
    body, _ = _bulk(hub, ["100", "50"])
    hub.deliver()
    error = {"errorInformation": {"errorCode": "5100", "errorDescription": "Payee rejection"}}
    path = f"/bulkTransfers/{body['bulkTransferId']}/error"
    hub.fspiop("PUT", path, error, source="bank-b", destination="bank-a", resource="bulkTransfers")
    (to_payer,) = hub.deliver()
    assert (to_payer.fsp_id, json.loads(to_payer.body)) == ("bank-a", error)
    assert hub.position("bank-a")["headroom"] == "500"


def test_an_expired_bulk_is_rejected_with_3303(hub: Hub) -> None:
    _bulk(hub, ["100"], expires_in=timedelta(seconds=10))
    hub.deliver()
    hub.clock.advance(timedelta(seconds=15))
    assert hub.switch.bulk.sweep() == 1
    codes = {c.fsp_id: json.loads(c.body)["errorInformation"]["errorCode"] for c in hub.deliver()}
    assert codes == {"bank-a": "3303", "bank-b": "3303"}
    hub.platform.ledger.expire_due(actor="test")
    assert hub.position("bank-a")["headroom"] == "500"


def test_a_bulk_beyond_the_cap_is_rejected_whole(hub: Hub) -> None:
    body, _ = _bulk(hub, ["600"])
    (refusal,) = hub.deliver()
    assert refusal.url.endswith(f"/bulkTransfers/{body['bulkTransferId']}/error")
    assert json.loads(refusal.body)["errorInformation"]["errorCode"] == "4001"
    # the same bulk again is answered the same way; another body under its id gets 3106
    hub.fspiop(
        "POST",
        "/bulkTransfers",
        body,
        source="bank-a",
        destination="bank-b",
        resource="bulkTransfers",
    )
    assert json.loads(hub.deliver()[0].body)["errorInformation"]["errorCode"] == "4001"
    changed = {**body, "bulkQuoteId": new_id()}
    hub.fspiop(
        "POST",
        "/bulkTransfers",
        changed,
        source="bank-a",
        destination="bank-b",
        resource="bulkTransfers",
    )
    assert json.loads(hub.deliver()[0].body)["errorInformation"]["errorCode"] == "3106"
