"""Pure parts of the switch: FSPIOP amounts, body checks, the refusals before the ledger, the
settlement chain, endpoint templates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from baobab.kernel.money import Money
from baobab.ledger import TransferFlags
from baobab.switch.domain import (
    NetPosition,
    Participant,
    SwitchError,
    parse_amount,
    render_endpoint,
)
from baobab.switch.fspiop import FspiopError, amount_text, condition_of, new_fulfilment
from baobab.switch.settlement import movements
from baobab.switch.validation import parse_bulk, parse_fulfil, parse_prepare, prepare_refusal

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
TRANSFER_ID = "01a2198a-d4f5-7525-9438-c603abac5187"


def _fsp(
    fsp_id: str, *, enabled: bool = True, currencies: frozenset[str] = frozenset({"USD"})
) -> Participant:
    endpoints = {"FSPIOP_CALLBACK_URL_TRANSFER_POST": f"http://{fsp_id}/transfers"}
    return Participant(fsp_id, f"DEV/COM/{fsp_id}", enabled, NOW, currencies, endpoints)


def _prepare(**change: object) -> dict[str, object]:
    body: dict[str, object] = {
        "transferId": TRANSFER_ID,
        "payerFsp": "a",
        "payeeFsp": "b",
        "amount": {"amount": "10.5", "currency": "USD"},
        "ilpPacket": "AYIBgQAAAAAAAASw",
        "condition": condition_of(new_fulfilment()),
        "expiration": "2026-11-26T10:01:00.000Z",
    }
    body.update(change)
    return body


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [("10.5", "USD", 1050), ("0", "USD", 0), ("7", "JPY", 7), ("1.125", "BHD", 1125)],
)
def test_fspiop_amounts_become_minor_units_and_back(text: str, currency: str, minor: int) -> None:
    money = parse_amount(text, currency)
    assert money == Money(minor, currency)
    assert amount_text(money) == text


@pytest.mark.parametrize(
    ("text", "currency"),
    [("10.50", "USD"), ("01", "USD"), ("1.001", "USD"), ("-1", "USD"), ("1", "usd")],
)
def test_amounts_outside_the_fspiop_pattern_are_refused(text: str, currency: str) -> None:
    with pytest.raises(SwitchError):
        parse_amount(text, currency)


def test_a_valid_prepare_is_parsed() -> None:
    request = parse_prepare(_prepare())
    assert (request.payer, request.payee, request.amount) == ("a", "b", Money(1050, "USD"))
    assert request.expiration == NOW + timedelta(minutes=1)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"transferId": "not-a-uuid"}, "3100"),
        ({"transferId": None}, "3102"),
        ({"amount": {"amount": "0", "currency": "USD"}}, "3100"),
        ({"condition": "short"}, "3100"),
        ({"ilpPacket": "not base64url!"}, "3100"),
        ({"expiration": "tomorrow"}, "3100"),
        ({"extensionList": {"extension": []}}, "3100"),
    ],
)
def test_a_bad_prepare_names_its_error(change: dict[str, object], code: str) -> None:
    with pytest.raises(FspiopError) as raised:
        parse_prepare(_prepare(**change))
    assert raised.value.error.code == code


@pytest.mark.parametrize(
    ("payer", "payee", "expires", "code"),
    [
        (_fsp("a"), _fsp("b"), timedelta(minutes=1), None),
        (_fsp("a", enabled=False), _fsp("b"), timedelta(minutes=1), "3202"),
        (_fsp("a"), None, timedelta(minutes=1), "3203"),
        (_fsp("a"), _fsp("b", enabled=False), timedelta(minutes=1), "3203"),
        (_fsp("a"), _fsp("b", currencies=frozenset({"EUR"})), timedelta(minutes=1), "5106"),
        (_fsp("a"), _fsp("b"), timedelta(0), "3303"),
        (_fsp("a"), _fsp("b"), timedelta(days=8), "3100"),
    ],
)
def test_refusals_before_the_ledger(
    payer: Participant, payee: Participant | None, expires: timedelta, code: str | None
) -> None:
    request = parse_prepare(_prepare())
    refusal = prepare_refusal(payer, payee, request, request.expiration - expires)
    assert (refusal[0].code if refusal else None) == code


def test_a_fulfil_needs_a_fulfilment_and_a_payee_state() -> None:
    fulfilment = new_fulfilment()
    assert (
        parse_fulfil({"fulfilment": fulfilment, "transferState": "RESERVED"}).fulfilment
        == fulfilment
    )
    with pytest.raises(FspiopError, match="transferState"):
        parse_fulfil({"fulfilment": fulfilment, "transferState": "ABORTED"})


def test_a_bulk_refuses_duplicate_items_and_another_payer() -> None:
    item = {
        "transferId": TRANSFER_ID,
        "transferAmount": {"amount": "1", "currency": "USD"},
        "ilpPacket": "AYIB",
        "condition": condition_of(new_fulfilment()),
    }
    body = {
        "bulkTransferId": TRANSFER_ID,
        "bulkQuoteId": TRANSFER_ID,
        "payerFsp": "a",
        "payeeFsp": "b",
        "expiration": "2026-11-26T10:01:00.000Z",
        "individualTransfers": [item, item],
    }
    with pytest.raises(FspiopError, match="must differ"):
        parse_bulk(body, "a")
    with pytest.raises(FspiopError, match="FSPIOP-Source"):
        parse_bulk({**body, "individualTransfers": [item]}, "c")


def test_settlement_moves_funds_and_resets_positions_in_one_chain() -> None:
    chain = movements(
        "stl-1-1",
        [
            NetPosition("a", "USD", sent=300, received=100, transfers=3),
            NetPosition("b", "USD", sent=100, received=300, transfers=3),
            NetPosition("c", "USD", sent=50, received=50, transfers=2),
        ],
    )
    assert [(e.debit_account_id, e.credit_account_id, e.amount) for e in chain] == [
        ("sw:hub:USD:control", "sw:a:USD:position", 200),
        ("sw:a:USD:liquidity", "sw:hub:USD:bank", 200),
        ("sw:b:USD:position", "sw:hub:USD:control", 200),
        ("sw:hub:USD:bank", "sw:b:USD:liquidity", 200),
    ]
    assert all(e.flags & TransferFlags.LINKED for e in chain[:-1])
    assert not chain[-1].flags & TransferFlags.LINKED


def test_endpoint_templates_are_filled() -> None:
    url = render_endpoint("http://b/transfers/{{transferId}}/error", transferId=TRANSFER_ID)
    assert url == f"http://b/transfers/{TRANSFER_ID}/error"
