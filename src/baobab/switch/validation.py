"""Checks of FSPIOP request bodies (API Definition v1.1, section 7): each returns the parsed
values or raises :class:`FspiopError` 3100/3101/3102 with the element that is wrong."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from baobab.kernel.errors import InvalidMoney
from baobab.kernel.money import Money
from baobab.switch.domain import (
    BulkItem,
    EndpointType,
    Participant,
    SwitchError,
    TransferState,
    parse_amount,
)
from baobab.switch.fspiop import (
    ErrorCode,
    FspiopError,
    valid_condition,
    valid_error_code,
    valid_fsp_id,
    valid_fulfilment,
)

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[1-7][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})")
MAX_BODY = 65536
MAX_ITEMS = 1000  # IndividualTransfers holds 1..1000
MAX_LIFETIME = timedelta(days=7)  # how far ahead a transfer may expire (the reservation's life)


def invalid(what: str) -> FspiopError:
    return FspiopError(ErrorCode.VALIDATION_ERROR, what)


def missing(element: str) -> FspiopError:
    return FspiopError(ErrorCode.MISSING_ELEMENT, f"{element} is missing")


def parse_json(body: bytes) -> dict[str, Any]:
    """The body as a JSON object; 3104 if too large, 3101 if not JSON."""
    if len(body) > MAX_BODY:
        raise FspiopError(ErrorCode.TOO_LARGE_PAYLOAD, f"the body exceeds {MAX_BODY} bytes")
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FspiopError(ErrorCode.MALFORMED_SYNTAX, "the body is not JSON") from exc
    if not isinstance(value, dict):
        raise FspiopError(ErrorCode.MALFORMED_SYNTAX, "the body is not a JSON object")
    return value


def check_id(value: object, name: str) -> str:
    """A ``CorrelationId`` (lower-case UUID)."""
    if value is None:
        raise missing(name)
    if not isinstance(value, str) or not UUID.fullmatch(value):
        raise invalid(f"{name} must be a lower-case UUID (CorrelationId)")
    return value


def parse_datetime(value: object, name: str) -> datetime:
    """An FSPIOP ``DateTime`` (ISO 8601 with a zone) as aware UTC."""
    if value is None:
        raise missing(name)
    if not isinstance(value, str) or not _DATETIME.fullmatch(value):
        raise invalid(f"{name} must be an ISO 8601 date-time with a zone")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError as exc:
        raise invalid(f"{name} is not a valid date-time") from exc


def check_extensions(message: dict[str, Any]) -> None:
    """``extensionList``, if present, holds 1-16 key/value pairs."""
    if "extensionList" not in message:
        return
    extensions = message["extensionList"]
    items = extensions.get("extension") if isinstance(extensions, dict) else None
    if not isinstance(items, list) or not 1 <= len(items) <= 16:
        raise invalid("extensionList.extension must hold 1 to 16 extensions")
    for item in items:
        if not (
            isinstance(item, dict)
            and isinstance(item.get("key"), str)
            and 1 <= len(item["key"]) <= 32
            and isinstance(item.get("value"), str)
            and 1 <= len(item["value"]) <= 128
        ):
            raise invalid("an extension is {key: 1-32 chars, value: 1-128 chars}")


def parse_money(value: object, name: str) -> Money:
    if not isinstance(value, dict):
        raise missing(name) if value is None else invalid(f"{name} must be a Money object")
    try:
        return parse_amount(value.get("amount"), value.get("currency"))
    except (SwitchError, InvalidMoney) as exc:
        raise invalid(f"{name}: {exc.detail}") from exc


@dataclass(frozen=True, slots=True)
class Prepare:
    """A valid ``POST /transfers`` body."""

    transfer_id: str
    payer: str
    payee: str
    amount: Money
    condition: str
    expiration: datetime


def parse_prepare(message: dict[str, Any]) -> Prepare:
    """Check a ``Transfer`` object (POST /transfers)."""
    transfer_id = check_id(message.get("transferId"), "transferId")
    for name in ("payerFsp", "payeeFsp"):
        if message.get(name) is None:
            raise missing(name)
        if not valid_fsp_id(message[name]):
            raise invalid(f"{name} is not an FSP id")
    amount = parse_money(message.get("amount"), "amount")
    if amount.minor <= 0:
        raise invalid("amount must be positive")
    packet = message.get("ilpPacket")
    if packet is None:
        raise missing("ilpPacket")
    if not isinstance(packet, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,32768}", packet):
        raise invalid("ilpPacket must be 1-32768 characters of base64url")
    condition = message.get("condition")
    if condition is None:
        raise missing("condition")
    if not valid_condition(condition):
        raise invalid("condition must be 32 bytes of base64url without padding")
    expiration = parse_datetime(message.get("expiration"), "expiration")
    check_extensions(message)
    return Prepare(
        transfer_id, message["payerFsp"], message["payeeFsp"], amount, condition, expiration
    )


def prepare_refusal(
    payer: Participant, payee: Participant | None, request: Prepare, now: datetime
) -> tuple[ErrorCode, str] | None:
    """Why the hub refuses a well-formed prepare before touching the ledger, if it does."""
    currency = request.amount.currency
    if request.payee == request.payer:
        return ErrorCode.VALIDATION_ERROR, "payer and payee FSP must differ"
    if not payer.enabled or currency not in payer.currencies:
        return ErrorCode.PAYER_FSP_NOT_FOUND, f"the payer FSP is not active in {currency}"
    if payee is None or not payee.enabled:
        return ErrorCode.PAYEE_FSP_NOT_FOUND, "the payee FSP is not an active participant"
    if currency not in payee.currencies:
        return ErrorCode.PAYEE_UNSUPPORTED_CURRENCY, f"the payee FSP does not hold {currency}"
    if payee.endpoint(EndpointType.TRANSFER_POST) is None:
        return ErrorCode.DESTINATION_FSP_ERROR, "the payee FSP has no transfer endpoint"
    if request.expiration <= now:
        return ErrorCode.TRANSFER_EXPIRED, "the expiration is not in the future"
    if request.expiration - now > MAX_LIFETIME:
        return ErrorCode.VALIDATION_ERROR, "the expiration is more than 7 days away"
    return None


@dataclass(frozen=True, slots=True)
class Fulfil:
    """A valid ``PUT /transfers/{ID}`` body."""

    fulfilment: str
    state: TransferState
    completed_at: datetime | None


def parse_fulfil(message: dict[str, Any]) -> Fulfil:
    """Check a ``PUT /transfers/{ID}`` body from the payee."""
    fulfilment = message.get("fulfilment")
    if fulfilment is None:
        raise missing("fulfilment")
    if not valid_fulfilment(fulfilment):
        raise invalid("fulfilment must be 32 bytes of base64url without padding")
    state = message.get("transferState")
    if state is None:
        raise missing("transferState")
    if state not in (TransferState.COMMITTED.value, TransferState.RESERVED.value):
        raise invalid("transferState of a payee's answer must be COMMITTED or RESERVED")
    completed = message.get("completedTimestamp")
    completed_at = None if completed is None else parse_datetime(completed, "completedTimestamp")
    check_extensions(message)
    return Fulfil(fulfilment, TransferState(state), completed_at)


def parse_error(message: dict[str, Any]) -> tuple[ErrorCode, str, str]:
    """Check an ``ErrorInformationObject``; returns the code's member, the code as sent (it may
    be scheme-specific) and the description."""
    info = message.get("errorInformation")
    if not isinstance(info, dict):
        raise missing("errorInformation")
    code, description = info.get("errorCode"), info.get("errorDescription")
    if not valid_error_code(code):
        raise invalid("errorInformation.errorCode must be a four-digit FSPIOP error code")
    if not isinstance(description, str) or not 1 <= len(description) <= 128:
        raise invalid("errorInformation.errorDescription must be 1-128 characters")
    check_extensions(info)
    assert isinstance(code, str)
    return ErrorCode.of(code), code, description


def parse_bulk(message: Mapping[str, Any], payer: str) -> tuple[str, str, datetime, list[BulkItem]]:
    """Check a ``POST /bulkTransfers`` body; return its id, payee FSP, expiration and items."""
    bulk_id = check_id(message.get("bulkTransferId"), "bulkTransferId")
    check_id(message.get("bulkQuoteId"), "bulkQuoteId")
    if message.get("payerFsp") != payer:
        raise FspiopError(ErrorCode.VALIDATION_ERROR, "payerFsp must be the FSPIOP-Source")
    payee = message.get("payeeFsp")
    if not isinstance(payee, str) or not payee:
        raise missing("payeeFsp")
    expiration = parse_datetime(message.get("expiration"), "expiration")
    listed = message.get("individualTransfers")
    if not isinstance(listed, list) or not 1 <= len(listed) <= MAX_ITEMS:
        raise invalid(f"individualTransfers must hold 1 to {MAX_ITEMS} transfers")
    items = []
    for entry in listed:
        if not isinstance(entry, dict):
            raise invalid("an individual transfer is an object")
        money = parse_money(entry.get("transferAmount"), "transferAmount")
        condition = entry.get("condition")
        if not isinstance(entry.get("ilpPacket"), str) or not isinstance(condition, str):
            raise missing("ilpPacket or condition of an individual transfer")
        transfer_id = check_id(entry.get("transferId"), "transferId")
        items.append(BulkItem(transfer_id, money.minor, money.currency, condition))
    if len({item.transfer_id for item in items}) != len(items):
        raise invalid("the transferIds of a bulk must differ")
    check_extensions(dict(message))
    return bulk_id, payee, expiration, items
