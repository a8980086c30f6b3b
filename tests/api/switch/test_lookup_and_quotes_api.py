"""Party lookup and quotes through the hub: the oracle, forwarding to the owning FSP and back,
idempotent quotes, errors by callback."""

from __future__ import annotations

import json
from typing import Any

from baobab.kernel.ids import new_id
from tests.api.switch.conftest import Hub

MSISDN = "/participants/MSISDN/256700000001"


def _code(body: bytes) -> str:
    return str(json.loads(body)["errorInformation"]["errorCode"])


def _own(hub: Hub, fsp: str = "bank-b") -> None:
    answer = hub.fspiop(
        "POST", MSISDN, {"fspId": fsp, "currency": "USD"}, source=fsp, resource="participants"
    )
    assert answer.status_code == 202, answer.text
    (told,) = hub.deliver()
    assert json.loads(told.body) == {"fspId": fsp}


def test_an_fsp_registers_a_party_and_others_find_it(hub: Hub) -> None:
    _own(hub)
    hub.fspiop("GET", MSISDN, None, source="bank-a", resource="participants")
    (told,) = hub.deliver()
    assert (told.fsp_id, told.url) == (
        "bank-a",
        "http://bank-a.test/participants/MSISDN/256700000001",
    )
    assert json.loads(told.body) == {"fspId": "bank-b"}


def test_a_taken_party_cannot_be_claimed_and_an_unknown_one_is_3204(hub: Hub) -> None:
    _own(hub)
    hub.fspiop("POST", MSISDN, {"fspId": "bank-a"}, source="bank-a", resource="participants")
    (refused,) = hub.deliver()
    assert (refused.fsp_id, _code(refused.body)) == ("bank-a", "3003")
    hub.fspiop("GET", "/participants/MSISDN/999", None, source="bank-a", resource="participants")
    (unknown,) = hub.deliver()
    assert unknown.url.endswith("/MSISDN/999/error")
    assert _code(unknown.body) == "3204"


def test_only_the_owner_removes_a_party(hub: Hub) -> None:
    _own(hub)
    hub.fspiop("DELETE", MSISDN, None, source="bank-a", resource="participants")
    assert _code(hub.deliver()[0].body) == "3204"
    hub.fspiop("DELETE", MSISDN, None, source="bank-b", resource="participants")
    assert json.loads(hub.deliver()[0].body) == {"fspId": "bank-b"}
    hub.fspiop("GET", MSISDN, None, source="bank-a", resource="participants")
    assert _code(hub.deliver()[0].body) == "3204"


def test_a_party_question_goes_to_the_owner_and_its_answer_back(hub: Hub) -> None:
    _own(hub)
    path = "/parties/MSISDN/256700000001"
    assert hub.fspiop("GET", path, None, source="bank-a", resource="parties").status_code == 202
    (question,) = hub.deliver()
    assert (question.fsp_id, question.method) == ("bank-b", "GET")
    assert question.headers["fspiop-source"] == "bank-a"
    party = {
        "party": {
            "partyIdInfo": {
                "partyIdType": "MSISDN",
                "partyIdentifier": "256700000001",
                "fspId": "bank-b",
            }
        }
    }
    answer = hub.fspiop(
        "PUT", path, party, source="bank-b", destination="bank-a", resource="parties"
    )
    assert answer.status_code == 200, answer.text
    (reply,) = hub.deliver()
    assert (reply.fsp_id, reply.method, reply.url) == (
        "bank-a",
        "PUT",
        "http://bank-a.test/parties/MSISDN/256700000001",
    )
    assert json.loads(reply.body) == party


def test_a_put_without_destination_is_refused(hub: Hub) -> None:
    answer = hub.fspiop(
        "PUT", "/parties/MSISDN/1", {"party": {}}, source="bank-b", resource="parties"
    )
    assert (answer.status_code, answer.json()["errorInformation"]["errorCode"]) == (400, "3102")


def _quote(hub: Hub, quote_id: str | None = None, amount: str = "100") -> dict[str, Any]:
    return {
        "quoteId": quote_id or new_id(),
        "transactionId": new_id(),
        "payee": {
            "partyIdInfo": {
                "partyIdType": "MSISDN",
                "partyIdentifier": "256700000001",
                "fspId": "bank-b",
            }
        },
        "payer": {
            "partyIdInfo": {
                "partyIdType": "MSISDN",
                "partyIdentifier": "256700000009",
                "fspId": "bank-a",
            }
        },
        "amountType": "SEND",
        "amount": {"amount": amount, "currency": "USD"},
        "transactionType": {
            "scenario": "TRANSFER",
            "initiator": "PAYER",
            "initiatorType": "CONSUMER",
        },
    }


def _terms() -> dict[str, Any]:
    return {
        "transferAmount": {"amount": "101", "currency": "USD"},
        "payeeFspFee": {"amount": "1", "currency": "USD"},
        "expiration": "2026-01-15T09:05:00.000Z",
        "ilpPacket": "AQAAAAAAAADIEHByaXZhdGUucGF5ZWVmc3A",
        "condition": "f5sqb7tBTWPd5Y8BDFdMm9BJR_MNI4isf8p8n4D5pHA",
    }


def test_a_quote_goes_to_the_payee_and_its_terms_back_with_fees(hub: Hub) -> None:
    body = _quote(hub)
    answer = hub.fspiop(
        "POST", "/quotes", body, source="bank-a", destination="bank-b", resource="quotes"
    )
    assert answer.status_code == 202, answer.text
    (forward,) = hub.deliver()
    assert (forward.fsp_id, forward.method, forward.url) == (
        "bank-b",
        "POST",
        "http://bank-b.test/quotes",
    )
    terms = _terms()
    put = hub.fspiop(
        "PUT",
        f"/quotes/{body['quoteId']}",
        terms,
        source="bank-b",
        destination="bank-a",
        resource="quotes",
    )
    assert put.status_code == 200, put.text
    (back,) = hub.deliver()
    assert (back.fsp_id, back.url) == ("bank-a", f"http://bank-a.test/quotes/{body['quoteId']}")
    assert json.loads(back.body) == terms
    # a resend is answered with the same terms; another body under the id gets 3106
    hub.fspiop("POST", "/quotes", body, source="bank-a", destination="bank-b", resource="quotes")
    (again,) = hub.deliver()
    assert json.loads(again.body) == terms
    hub.fspiop(
        "POST",
        "/quotes",
        _quote(hub, body["quoteId"], "5"),
        source="bank-a",
        destination="bank-b",
        resource="quotes",
    )
    (modified,) = hub.deliver()
    assert (modified.fsp_id, _code(modified.body)) == ("bank-a", "3106")


def test_a_quote_resend_while_waiting_goes_to_the_payee_again(hub: Hub) -> None:
    body = _quote(hub)
    hub.fspiop("POST", "/quotes", body, source="bank-a", destination="bank-b", resource="quotes")
    (first,) = hub.deliver()
    hub.fspiop("POST", "/quotes", body, source="bank-a", destination="bank-b", resource="quotes")
    (again,) = hub.deliver()
    assert (again.fsp_id, again.url, again.body) == (first.fsp_id, first.url, first.body)


def test_the_payee_error_reaches_the_payer_and_strangers_get_3205(hub: Hub) -> None:
    body = _quote(hub)
    hub.fspiop("POST", "/quotes", body, source="bank-a", destination="bank-b", resource="quotes")
    hub.deliver()
    wrong = hub.fspiop(
        "PUT",
        f"/quotes/{body['quoteId']}",
        _terms(),
        source="bank-a",
        destination="bank-b",
        resource="quotes",
    )
    assert wrong.status_code == 200
    (refused,) = hub.deliver()
    assert (refused.fsp_id, _code(refused.body)) == ("bank-a", "3205")
    error = {"errorInformation": {"errorCode": "5101", "errorDescription": "Payee rejected quote"}}
    hub.fspiop(
        "PUT",
        f"/quotes/{body['quoteId']}/error",
        error,
        source="bank-b",
        destination="bank-a",
        resource="quotes",
    )
    (back,) = hub.deliver()
    assert back.url.endswith(f"/quotes/{body['quoteId']}/error")
    assert json.loads(back.body) == error


def test_a_bulk_quote_goes_to_the_payee_and_back(hub: Hub) -> None:
    single = _quote(hub)
    body = {
        "bulkQuoteId": new_id(),
        "payer": single["payer"],
        "individualQuotes": [{k: v for k, v in single.items() if k != "payer"}],
    }
    answer = hub.fspiop("POST", "/bulkQuotes", body, source="bank-a", resource="bulkQuotes")
    assert answer.status_code == 202, answer.text
    (forward,) = hub.deliver()
    assert (forward.fsp_id, forward.url) == ("bank-b", "http://bank-b.test/bulkQuotes")
    terms = {
        "expiration": "2026-01-15T09:05:00.000Z",
        "individualQuoteResults": [{"quoteId": single["quoteId"], **_terms()}],
    }
    path = f"/bulkQuotes/{body['bulkQuoteId']}"
    put = hub.fspiop(
        "PUT", path, terms, source="bank-b", destination="bank-a", resource="bulkQuotes"
    )
    assert put.status_code == 200, put.text
    (back,) = hub.deliver()
    assert (back.fsp_id, back.url) == ("bank-a", f"http://bank-a.test{path}")
    assert json.loads(back.body) == terms
    hub.fspiop("GET", f"/bulkQuotes/{new_id()}", None, source="bank-a", resource="bulkQuotes")
    assert _code(hub.deliver()[0].body) == "3209"
