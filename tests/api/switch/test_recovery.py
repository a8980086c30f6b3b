"""A hub that dies mid-flow loses no acknowledged transfer and leaves no reservation stuck; the
Net Debit Cap holds under concurrent prepares from one payer (PostgreSQL)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from baobab.ledger import NewTransfer, TransferFlags
from baobab.switch.domain import TransferState, account_ids, post_id, void_id
from baobab.switch.fspiop.headers import outgoing_headers
from tests.api.switch.conftest import Hub


def test_a_commit_the_record_missed_is_finished_by_the_sweep(hub: Hub) -> None:
    body, fulfilment = hub.prepare(amount="100", expires_in=timedelta(seconds=30))
    hub.deliver()
    # the hub posted in the ledger, then died before recording it
    post = NewTransfer(
        post_id(body["transferId"]),
        pending_id=body["transferId"],
        flags=TransferFlags.POST_PENDING,
        reference=fulfilment,
    )
    hub.platform.ledger.create_transfer(post, actor="test")
    hub.clock.advance(timedelta(seconds=40))
    assert hub.switch.transfers.sweep() == 1
    sent = {(c.fsp_id, c.method): json.loads(c.body) for c in hub.deliver()}
    assert sent[("bank-a", "PUT")]["fulfilment"] == fulfilment
    assert sent[("bank-a", "PUT")]["transferState"] == "COMMITTED"
    assert sent[("bank-b", "PATCH")]["transferState"] == "COMMITTED"
    assert hub.position("bank-a")["netPosition"] == "100"
    assert hub.switch.transfers.sweep() == 0


def test_a_reservation_the_record_missed_is_taken_up_by_a_resend(hub: Hub) -> None:
    body, _ = hub.prepare_body(amount="100")
    # the hub reserved in the ledger, then died before recording or answering
    reserve = NewTransfer(
        body["transferId"],
        account_ids("bank-a", "USD").position,
        account_ids("bank-b", "USD").position,
        10000,
        "USD",
        timeout=60,
        flags=TransferFlags.PENDING,
    )
    hub.platform.ledger.create_transfer(reserve, actor="test")
    answer = hub.fspiop("POST", "/transfers", body, source="bank-a", destination="bank-b")
    assert answer.status_code == 202
    (forward,) = hub.deliver()
    assert forward.fsp_id == "bank-b"
    assert hub.position("bank-a")["reserved"] == "100"


def test_a_reservation_nobody_resends_lapses(hub: Hub) -> None:
    reserve = NewTransfer(
        "lost-1",
        account_ids("bank-a", "USD").position,
        account_ids("bank-b", "USD").position,
        10000,
        "USD",
        timeout=60,
        flags=TransferFlags.PENDING,
    )
    hub.platform.ledger.create_transfer(reserve, actor="test")
    assert hub.position("bank-a")["headroom"] == "400"
    hub.clock.advance(timedelta(seconds=61))
    hub.platform.ledger.expire_due(actor="test")
    assert hub.position("bank-a")["headroom"] == "500"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_cap_holds_under_concurrent_prepares(hub: Hub) -> None:
    payer = hub.switch.participants.get("bank-a")
    bodies = [hub.prepare_body(amount="100")[0] for _ in range(12)]

    def send(body: dict[str, object]) -> None:
        raw = json.dumps(body).encode()
        headers = outgoing_headers(
            "transfers", source="bank-a", destination="bank-b", at=hub.clock.now()
        )
        hub.switch.transfers.prepare(payer, message=json.loads(raw), headers=headers, body=raw)

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(send, bodies))
    sent = hub.deliver()
    forwards = [c for c in sent if c.fsp_id == "bank-b"]
    refusals = [
        json.loads(c.body)["errorInformation"]["errorCode"] for c in sent if c.fsp_id == "bank-a"
    ]
    assert len(forwards) == 5
    assert refusals == ["4001"] * 7
    position = hub.position("bank-a")
    assert (position["reserved"], position["headroom"]) == ("500", "0")


def test_a_transfer_another_process_aborted_is_not_committed_here(hub: Hub) -> None:
    body, fulfilment = hub.prepare(amount="100", expires_in=timedelta(seconds=30))
    hub.deliver()
    # another hub process swept it: voided in the ledger, aborted in the table
    void = NewTransfer(
        void_id(body["transferId"]), pending_id=body["transferId"], flags=TransferFlags.VOID_PENDING
    )
    hub.platform.ledger.create_transfer(void, actor="test")
    hub.switch.store.finish_transfer(
        body["transferId"],
        state=TransferState.ABORTED,
        fulfilment=None,
        completed_at=hub.clock.now(),
        error_code="3303",
        callbacks=[],
    )
    assert hub.fulfil(body["transferId"], fulfilment).status_code == 200
    (late,) = hub.deliver()
    assert (late.fsp_id, json.loads(late.body)["errorInformation"]["errorCode"]) == (
        "bank-b",
        "3303",
    )
    assert hub.position("bank-a")["netPosition"] == "0"
    assert hub.position("bank-a")["reserved"] == "0"
