"""The FSPIOP protocol helpers: headers, error bodies, ILP condition/fulfilment, signatures."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime

import pytest

from baobab.kernel.signing import Signer, b64url
from baobab.switch.fspiop import (
    ErrorCode,
    FspiopError,
    check_request,
    condition_of,
    content_type,
    error_body,
    fulfils,
    http_date,
    ilp_prepare_packet,
    new_fulfilment,
    outgoing_headers,
    parse_http_date,
    read_ilp_prepare_packet,
    sign_request,
    valid_condition,
    verify_request,
)

NOW = datetime(2026, 11, 26, 10, 0, 0, tzinfo=UTC)


def _headers(**extra: str) -> dict[str, str]:
    headers = outgoing_headers(
        "transfers", source="payerfsp", destination="payeefsp", at=NOW, expects_callback=True
    )
    headers.update(extra)
    return headers


def test_content_type_is_versioned_per_resource() -> None:
    assert content_type("quotes") == "application/vnd.interoperability.quotes+json;version=1.1"
    with pytest.raises(ValueError, match="not an FSPIOP resource"):
        content_type("payments")


def test_date_round_trips_in_imf_fixdate() -> None:
    assert http_date(NOW) == "Thu, 26 Nov 2026 10:00:00 GMT"
    assert parse_http_date("Thu, 26 Nov 2026 10:00:00 GMT") == NOW


def test_valid_request_headers_are_parsed() -> None:
    parsed = check_request(_headers(), resource="transfers", has_body=True, expects_callback=True)
    assert (parsed.source, parsed.destination, parsed.date) == ("payerfsp", "payeefsp", NOW)
    assert parsed.version == (1, 1)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"date": ""}, "3102"),
        ({"fspiop-source": ""}, "3102"),
        ({"fspiop-source": "no spaces please"}, "3101"),
        ({"date": "yesterday"}, "3101"),
        ({"content-type": "application/json"}, "3101"),
        ({"content-type": "application/vnd.interoperability.quotes+json;version=1.1"}, "3101"),
        ({"content-type": "application/vnd.interoperability.transfers+json;version=2.0"}, "3001"),
        ({"accept": "application/vnd.interoperability.transfers+json;version=2"}, "3001"),
    ],
)
def test_bad_headers_get_their_fspiop_code(change: dict[str, str], code: str) -> None:
    with pytest.raises(FspiopError) as raised:
        check_request(
            _headers(**change), resource="transfers", has_body=True, expects_callback=True
        )
    assert raised.value.error.code == code


def test_unacceptable_version_lists_the_supported_ones() -> None:
    accept = "application/vnd.interoperability.transfers+json;version=3"
    with pytest.raises(FspiopError) as raised:
        check_request(
            _headers(accept=accept), resource="transfers", has_body=False, expects_callback=True
        )
    assert raised.value.error.http_status == 406
    extensions = raised.value.body()["errorInformation"]["extensionList"]["extension"]
    assert {"key": "1", "value": "1"} in extensions


def test_error_body_has_the_fspiop_shape() -> None:
    body = error_body(ErrorCode.MODIFIED_REQUEST, extensions={"transferId": "t1"})
    assert body == {
        "errorInformation": {
            "errorCode": "3106",
            "errorDescription": "Modified request",
            "extensionList": {"extension": [{"key": "transferId", "value": "t1"}]},
        }
    }
    assert ErrorCode.of("5199") is ErrorCode.PAYEE_REJECTION
    assert ErrorCode.of("3303").description == "Transfer expired"


def test_condition_is_sha256_of_the_fulfilment() -> None:
    fulfilment = new_fulfilment()
    condition = condition_of(fulfilment)
    raw = base64.urlsafe_b64decode(fulfilment + "=")
    assert condition == b64url(hashlib.sha256(raw).digest())
    assert len(condition) == 43
    assert valid_condition(condition)
    assert fulfils(fulfilment, condition)
    assert not fulfils(new_fulfilment(), condition)
    assert not fulfils(fulfilment + "=", condition)
    assert not fulfils("too-short", condition)


def test_non_canonical_base64url_is_refused() -> None:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    condition = condition_of(new_fulfilment())
    # the last of 43 characters carries 4 data bits and 2 bits that must be zero
    padded_bits_set = alphabet[alphabet.index(condition[-1]) + 1]
    assert not valid_condition(condition[:-1] + padded_bits_set)
    assert not valid_condition(condition + "=")


def test_ilp_packet_round_trips() -> None:
    condition = condition_of(new_fulfilment())
    data = {"transactionId": "tx1", "amount": {"amount": "10", "currency": "USD"}}
    packet = ilp_prepare_packet(
        amount=1000,
        expires_at=NOW,
        condition=condition,
        destination="g.payeefsp.msisdn.1",
        data=data,
    )
    read = read_ilp_prepare_packet(packet)
    assert (read.amount, read.expires_at, read.condition, read.data) == (1000, NOW, condition, data)
    with pytest.raises(ValueError, match="ILP"):
        read_ilp_prepare_packet(packet[:-4])


def _signed(signer: Signer, body: bytes) -> tuple[dict[str, str], str]:
    headers = _headers()
    return headers, sign_request(
        signer, method="post", uri="/transfers", headers=headers, body=body
    )


@pytest.mark.parametrize("curve", ["Ed25519", "P-256"])
def test_signature_verifies_with_the_senders_key(curve: str) -> None:
    signer = Signer.generate(curve)
    headers, value = _signed(signer, b'{"a":1}')
    verify_request(
        value,
        method="POST",
        uri="/transfers",
        headers=headers,
        body=b'{"a":1}',
        keys=[signer.verification_key],
    )


@pytest.mark.parametrize(
    "tamper",
    ["body", "uri", "method", "source", "destination", "key", "garbage"],
)
def test_signature_refuses_any_change(tamper: str) -> None:
    signer = Signer.generate()
    headers, value = _signed(signer, b'{"a":1}')
    body, uri, method, keys = b'{"a":1}', "/transfers", "POST", [signer.verification_key]
    if tamper == "body":
        body = b'{"a":2}'
    elif tamper == "uri":
        uri = "/transfers/x"
    elif tamper == "method":
        method = "PUT"
    elif tamper == "source":
        headers = {**headers, "fspiop-source": "other"}
    elif tamper == "destination":
        headers = {**headers, "fspiop-destination": "other"}
    elif tamper == "key":
        keys = [Signer.generate().verification_key]
    else:
        value = json.dumps({"signature": "abc", "protectedHeader": "!!"})
    with pytest.raises(FspiopError) as raised:
        verify_request(value, method=method, uri=uri, headers=headers, body=body, keys=keys)
    assert raised.value.error.code == "3105"
