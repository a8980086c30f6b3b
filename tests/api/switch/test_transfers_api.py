"""The FSPIOP transfer flow through the hub, on SQLite and PostgreSQL: every path of the state
machine, with the callbacks each party gets and the positions exactly right after each."""

from __future__ import annotations

import json
from datetime import timedelta

from baobab.kernel.ids import new_id
from baobab.switch.fspiop import new_fulfilment
from tests.api.switch.conftest import Hub


def _error_code(callback_body: bytes) -> str:
    return str(json.loads(callback_body)["errorInformation"]["errorCode"])


def test_prepare_reserves_and_forwards_to_the_payee(hub: Hub) -> None:
    body, _ = hub.prepare(amount="100")
    (forward,) = hub.deliver()
    assert (forward.fsp_id, forward.method, forward.url) == (
        "bank-b",
        "POST",
        "http://bank-b.test/transfers",
    )
    assert json.loads(forward.body) == body
    assert forward.headers["fspiop-source"] == "bank-a"
    assert hub.position("bank-a")["reserved"] == "100"
    assert hub.position("bank-a")["headroom"] == "400"


def test_fulfil_commits_and_tells_the_payer(hub: Hub) -> None:
    body, fulfilment = hub.prepare(amount="100")
    hub.deliver()
    assert hub.fulfil(body["transferId"], fulfilment).status_code == 200
    (to_payer,) = hub.deliver()
    assert (to_payer.fsp_id, to_payer.method) == ("bank-a", "PUT")
    assert to_payer.url == f"http://bank-a.test/transfers/{body['transferId']}"
    assert json.loads(to_payer.body)["fulfilment"] == fulfilment
    payer, payee = hub.position("bank-a"), hub.position("bank-b")
    assert (payer["netPosition"], payer["reserved"], payer["headroom"]) == ("100", "0", "400")
    assert (payee["netPosition"], payee["headroom"]) == ("-100", "600")


def test_a_reserved_answer_gets_the_patch_and_the_payer_committed(hub: Hub) -> None:
    body, fulfilment = hub.prepare()
    hub.deliver()
    hub.fulfil(body["transferId"], fulfilment, state="RESERVED")
    sent = {(c.fsp_id, c.method): c for c in hub.deliver()}
    patch = sent[("bank-b", "PATCH")]
    assert patch.url == f"http://bank-b.test/transfers/{body['transferId']}"
    patched = json.loads(patch.body)
    # FSPIOP v1.1 PATCH data model: completedTimestamp and transferState, no fulfilment.
    assert patched["transferState"] == "COMMITTED"
    assert "completedTimestamp" in patched
    assert "fulfilment" not in patched
    assert patch.headers["fspiop-source"] == "hub"
    assert "fspiop-signature" in patch.headers
    # The payer learns the outcome, COMMITTED with the fulfilment, not the payee's RESERVED.
    put = sent[("bank-a", "PUT")]
    told = json.loads(put.body)
    assert (told["transferState"], told["fulfilment"]) == ("COMMITTED", fulfilment)
    assert put.headers["fspiop-source"] == "hub"
    assert hub.position("bank-a")["netPosition"] == "100"
    # A resent RESERVED answer (the payee did not get the PATCH) gets the PATCH again.
    hub.fulfil(body["transferId"], fulfilment, state="RESERVED")
    (again,) = hub.deliver()
    assert (again.fsp_id, again.method) == ("bank-b", "PATCH")
    assert json.loads(again.body)["transferState"] == "COMMITTED"
    assert hub.position("bank-a")["netPosition"] == "100"


def test_a_committed_answer_is_forwarded_as_it_came_without_patch(hub: Hub) -> None:
    body, fulfilment = hub.prepare()
    hub.deliver()
    hub.fulfil(body["transferId"], fulfilment)
    sent = {(c.fsp_id, c.method): c for c in hub.deliver()}
    assert set(sent) == {("bank-a", "PUT")}
    assert sent[("bank-a", "PUT")].headers["fspiop-source"] == "bank-b"


def test_a_reserved_answer_that_does_not_fulfil_gets_the_patch_aborted(hub: Hub) -> None:
    body, _ = hub.prepare(amount="100")
    hub.deliver()
    hub.fulfil(body["transferId"], new_fulfilment(), state="RESERVED")
    sent = {(c.fsp_id, c.method, c.url.endswith("/error")): c for c in hub.deliver()}
    assert set(sent) == {("bank-a", "PUT", True), ("bank-b", "PATCH", False)}
    assert json.loads(sent[("bank-b", "PATCH", False)].body)["transferState"] == "ABORTED"
    assert _error_code(sent[("bank-a", "PUT", True)].body) == "3100"
    assert hub.position("bank-a")["reserved"] == "0"
    assert hub.position("bank-a")["netPosition"] == "0"


def test_a_wrong_fulfilment_aborts_and_releases(hub: Hub) -> None:
    body, _ = hub.prepare(amount="100")
    hub.deliver()
    assert hub.fulfil(body["transferId"], new_fulfilment()).status_code == 200
    errors = {c.fsp_id: c for c in hub.deliver()}
    assert set(errors) == {"bank-a", "bank-b"}
    assert errors["bank-a"].url.endswith(f"/transfers/{body['transferId']}/error")
    assert _error_code(errors["bank-a"].body) == "3100"
    payer = hub.position("bank-a")
    assert (payer["netPosition"], payer["reserved"], payer["headroom"]) == ("0", "0", "500")


def test_the_payee_error_callback_aborts_and_reaches_the_payer(hub: Hub) -> None:
    body, _ = hub.prepare()
    hub.deliver()
    error = {"errorInformation": {"errorCode": "5104", "errorDescription": "Payee rejected"}}
    answer = hub.fspiop(
        "PUT",
        f"/transfers/{body['transferId']}/error",
        error,
        source="bank-b",
        destination="bank-a",
    )
    assert answer.status_code == 200, answer.text
    (to_payer,) = hub.deliver()
    assert to_payer.fsp_id == "bank-a"
    assert json.loads(to_payer.body) == error
    assert hub.position("bank-a")["headroom"] == "500"


def test_the_net_debit_cap_refuses_with_4001(hub: Hub) -> None:
    hub.prepare(amount="400")
    hub.deliver()
    body, _ = hub.prepare(amount="100.01")
    (refusal,) = hub.deliver()
    assert (refusal.fsp_id, _error_code(refusal.body)) == ("bank-a", "4001")
    assert refusal.url.endswith(f"/{body['transferId']}/error")
    assert hub.position("bank-a")["reserved"] == "400"


def test_expiry_while_waiting_for_the_payee_aborts_with_3303(hub: Hub) -> None:
    body, fulfilment = hub.prepare(expires_in=timedelta(seconds=10))
    hub.deliver()
    hub.clock.advance(timedelta(seconds=15))
    assert hub.switch.transfers.sweep() == 1
    errors = {c.fsp_id: _error_code(c.body) for c in hub.deliver()}
    assert errors == {"bank-a": "3303", "bank-b": "3303"}
    hub.platform.ledger.expire_due(actor="test")  # what the ledger's batcher does every second
    assert hub.position("bank-a")["headroom"] == "500"
    # a late fulfilment after expiry is refused and changes nothing
    hub.fulfil(body["transferId"], fulfilment)
    (late,) = hub.deliver()
    assert (late.fsp_id, _error_code(late.body)) == ("bank-b", "3303")
    assert hub.position("bank-a")["netPosition"] == "0"


def test_a_fulfilment_after_the_ledger_timeout_is_refused(hub: Hub) -> None:
    body, fulfilment = hub.prepare(expires_in=timedelta(seconds=10))
    hub.deliver()
    hub.clock.advance(timedelta(seconds=11))
    hub.fulfil(body["transferId"], fulfilment)
    errors = {c.fsp_id: _error_code(c.body) for c in hub.deliver()}
    assert errors == {"bank-a": "3303", "bank-b": "3303"}
    hub.platform.ledger.expire_due(actor="test")
    assert hub.position("bank-a")["headroom"] == "500"
    assert hub.position("bank-a")["netPosition"] == "0"
    assert hub.position("bank-b")["netPosition"] == "0"


def test_a_resend_is_ignored_while_in_progress_and_answered_when_done(hub: Hub) -> None:
    body, fulfilment = hub.prepare(amount="100")
    hub.deliver()
    resend = hub.fspiop("POST", "/transfers", body, source="bank-a", destination="bank-b")
    assert resend.status_code == 202
    assert hub.deliver() == []
    assert hub.position("bank-a")["reserved"] == "100"
    hub.fulfil(body["transferId"], fulfilment)
    hub.deliver()
    hub.fspiop("POST", "/transfers", body, source="bank-a", destination="bank-b")
    (again,) = hub.deliver()
    assert (again.fsp_id, json.loads(again.body)["transferState"]) == ("bank-a", "COMMITTED")
    assert hub.position("bank-a")["netPosition"] == "100"


def test_the_same_id_with_another_body_gets_3106(hub: Hub) -> None:
    body, _ = hub.prepare(amount="100")
    hub.deliver()
    changed = {**body, "amount": {"amount": "101", "currency": "USD"}}
    hub.fspiop("POST", "/transfers", changed, source="bank-a", destination="bank-b")
    (refusal,) = hub.deliver()
    assert (refusal.fsp_id, _error_code(refusal.body)) == ("bank-a", "3106")
    assert hub.position("bank-a")["reserved"] == "100"


def test_get_answers_by_callback_only_to_payer_and_payee(hub: Hub) -> None:
    body, _ = hub.prepare()
    hub.deliver()
    assert (
        hub.fspiop("GET", f"/transfers/{body['transferId']}", None, source="bank-b").status_code
        == 202
    )
    (state,) = hub.deliver()
    assert (state.fsp_id, json.loads(state.body)["transferState"]) == ("bank-b", "RESERVED")
    hub.fspiop("GET", f"/transfers/{new_id()}", None, source="bank-a")
    (unknown,) = hub.deliver()
    assert _error_code(unknown.body) == "3208"


def test_an_fsp_cannot_act_as_another(hub: Hub) -> None:
    body, _ = hub.prepare_body()
    answer = hub.fspiop("POST", "/transfers", body, source="bank-a", caller=hub.fsps["bank-b"])
    assert answer.status_code == 403
    assert answer.json()["errorInformation"]["errorCode"] == "3000"
    assert hub.deliver() == []


def test_only_the_payee_may_fulfil(hub: Hub) -> None:
    body, fulfilment = hub.prepare()
    hub.deliver()
    hub.fulfil(body["transferId"], fulfilment, source="bank-a")
    (refusal,) = hub.deliver()
    assert (refusal.fsp_id, _error_code(refusal.body)) == ("bank-a", "3208")
    assert hub.position("bank-a")["reserved"] == "100"


def test_bad_requests_get_synchronous_fspiop_errors(hub: Hub) -> None:
    body, _ = hub.prepare_body()
    no_condition = {k: v for k, v in body.items() if k != "condition"}
    answer = hub.fspiop("POST", "/transfers", no_condition, source="bank-a")
    assert (answer.status_code, answer.json()["errorInformation"]["errorCode"]) == (400, "3102")
    old = hub.fspiop(
        "POST",
        "/transfers",
        body,
        source="bank-a",
        headers={"content-type": "application/vnd.interoperability.transfers+json;version=2.0"},
    )
    assert (old.status_code, old.json()["errorInformation"]["errorCode"]) == (406, "3001")
    assert hub.deliver() == []


def test_a_disabled_payee_is_refused_with_3203(hub: Hub) -> None:
    assert hub.admin("PATCH", "/participants/bank-b", {"enabled": False}).status_code == 200
    hub.prepare()
    (refusal,) = hub.deliver()
    assert (refusal.fsp_id, _error_code(refusal.body)) == ("bank-a", "3203")
    assert hub.position("bank-a")["reserved"] == "0"


def test_a_signed_request_is_verified(hub: Hub) -> None:
    body, _ = hub.prepare_body()
    good = hub.fspiop("POST", "/transfers", body, source="bank-a", destination="bank-b", sign=True)
    assert good.status_code == 202, good.text
    tampered, _ = hub.prepare_body()
    bad = hub.fspiop(
        "POST",
        "/transfers",
        tampered,
        source="bank-a",
        destination="bank-b",
        sign=True,
        headers={"fspiop-destination": "bank-c"},
    )
    assert (bad.status_code, bad.json()["errorInformation"]["errorCode"]) == (401, "3105")
