"""Quotes: ``POST /quotes`` from the payer's FSP is recorded and passed to the payee's FSP; its
``PUT /quotes/{ID}`` (terms, fees, expiry, ILP packet and condition, untouched) or
``PUT /quotes/{ID}/error`` goes back to the payer's FSP. Idempotent like transfers: a resend of
the same request is passed to the payee again while the quote waits and answered again once it
has terms; the same id with another body gets 3106.

The quote's record (who asked whom, the payee's answer) is written before anything is sent;
the messages themselves are sent from memory and reach the outbox table only if they fail. A
hub that dies between the two loses a message an FSP gets by resending: the payer's resend is
passed on again, or answered from the record.

The ``FSPIOP_CALLBACK_URL_QUOTES`` endpoint is a base URL: ``/quotes`` and ``/quotes/{ID}``
(``/error``) are appended, as Mojaloop does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from baobab.kernel.clock import Clock
from baobab.switch.domain import (
    Callback,
    EndpointType,
    HubQuote,
    Participant,
    QuoteState,
    body_digest,
)
from baobab.switch.fspiop import ErrorCode, FspiopError, error_body, valid_fsp_id
from baobab.switch.messages import Messages
from baobab.switch.participants import ParticipantService
from baobab.switch.ports import SwitchStore
from baobab.switch.validation import (
    MAX_ITEMS,
    check_extensions,
    check_id,
    invalid,
    missing,
    parse_datetime,
    parse_money,
)

_AMOUNT_TYPES = ("SEND", "RECEIVE")


def _party(message: Mapping[str, Any], name: str) -> dict[str, Any]:
    party = message.get(name)
    info = party.get("partyIdInfo") if isinstance(party, dict) else None
    if not isinstance(info, dict):
        raise missing(f"{name}.partyIdInfo")
    if not isinstance(info.get("partyIdType"), str) or not isinstance(
        info.get("partyIdentifier"), str
    ):
        raise invalid(f"{name}.partyIdInfo needs partyIdType and partyIdentifier")
    return info


def _check_terms(message: Mapping[str, Any]) -> None:
    """The parts a quote request and each quote of a bulk share."""
    check_id(message.get("transactionId"), "transactionId")
    _party(message, "payee")
    if message.get("amountType") not in _AMOUNT_TYPES:
        raise invalid("amountType must be SEND or RECEIVE")
    parse_money(message.get("amount"), "amount")
    if "fees" in message:
        parse_money(message["fees"], "fees")
    kind = message.get("transactionType")
    if not isinstance(kind, dict) or not all(
        isinstance(kind.get(k), str) for k in ("scenario", "initiator", "initiatorType")
    ):
        raise invalid("transactionType needs scenario, initiator and initiatorType")


def _expiration(message: Mapping[str, Any]) -> datetime | None:
    expiration = message.get("expiration")
    return None if expiration is None else parse_datetime(expiration, "expiration")


def check_quote(message: Mapping[str, Any]) -> tuple[str, datetime | None, object]:
    """Check a ``POST /quotes`` body; return its id, expiration and the payee FSP it names."""
    quote_id = check_id(message.get("quoteId"), "quoteId")
    _party(message, "payer")
    _check_terms(message)
    check_extensions(dict(message))
    return quote_id, _expiration(message), _party(message, "payee").get("fspId")


def check_bulk_quote(message: Mapping[str, Any]) -> tuple[str, datetime | None, object]:
    """Check a ``POST /bulkQuotes`` body; return its id, expiration and the payee FSP named by
    its first quote."""
    bulk_id = check_id(message.get("bulkQuoteId"), "bulkQuoteId")
    _party(message, "payer")
    listed = message.get("individualQuotes")
    if not isinstance(listed, list) or not 1 <= len(listed) <= MAX_ITEMS:
        raise invalid(f"individualQuotes must hold 1 to {MAX_ITEMS} quotes")
    for entry in listed:
        if not isinstance(entry, dict):
            raise invalid("an individual quote is an object")
        check_id(entry.get("quoteId"), "quoteId")
        _check_terms(entry)
    check_extensions(dict(message))
    return bulk_id, _expiration(message), _party(listed[0], "payee").get("fspId")


def check_quote_answer(message: Mapping[str, Any]) -> None:
    """Check a payee FSP's ``PUT /quotes/{ID}``."""
    for name in ("transferAmount", "ilpPacket", "condition", "expiration"):
        if name not in message:
            raise missing(name)
    parse_money(message["transferAmount"], "transferAmount")
    parse_datetime(message["expiration"], "expiration")


def check_bulk_quote_answer(message: Mapping[str, Any]) -> None:
    """Check a payee FSP's ``PUT /bulkQuotes/{ID}``."""
    results = message.get("individualQuoteResults", [])
    if not isinstance(results, list) or len(results) > MAX_ITEMS:
        raise invalid(f"individualQuoteResults holds at most {MAX_ITEMS} results")
    parse_datetime(message.get("expiration"), "expiration")


@dataclass(frozen=True, slots=True)
class QuoteKind:
    """What differs between ``/quotes`` and ``/bulkQuotes``."""

    resource: str
    endpoint: EndpointType
    check: Callable[[Mapping[str, Any]], tuple[str, datetime | None, object]]
    check_answer: Callable[[Mapping[str, Any]], None]
    not_found: ErrorCode


QUOTES = QuoteKind(
    "quotes", EndpointType.QUOTES, check_quote, check_quote_answer, ErrorCode.QUOTE_NOT_FOUND
)
BULK_QUOTES = QuoteKind(
    "bulkQuotes",
    EndpointType.BULK_QUOTES,
    check_bulk_quote,
    check_bulk_quote_answer,
    ErrorCode.BULK_QUOTE_NOT_FOUND,
)


class QuoteService:
    """``/quotes`` (or, with ``kind=BULK_QUOTES``, ``/bulkQuotes``)."""

    def __init__(
        self,
        *,
        store: SwitchStore,
        send: Callable[[Sequence[Callback]], None],
        participants: ParticipantService,
        messages: Messages,
        clock: Clock,
        kind: QuoteKind = QUOTES,
    ) -> None:
        self._kind = kind
        self._store = store
        self._deliver = send
        self._participants = participants
        self._messages = messages
        self._clock = clock

    def _send(self, *callbacks: Callback | None) -> None:
        ready = [c for c in callbacks if c is not None]
        if ready:
            self._deliver(ready)

    def _error(
        self, to: Participant, quote_id: str, error: ErrorCode, now: datetime
    ) -> Callback | None:
        return self._messages.originate(
            to,
            self._kind.endpoint,
            method="PUT",
            resource=self._kind.resource,
            path=f"/{self._kind.resource}/{quote_id}/error",
            payload=error_body(error),
            at=now,
            suffix=f"/{self._kind.resource}/{quote_id}/error",
        )

    def request(
        self,
        payer: Participant,
        *,
        message: dict[str, Any],
        headers: Mapping[str, str],
        body: bytes,
    ) -> None:
        """POST /quotes: record and pass to the payee FSP (errors by callback to the payer)."""
        quote_id, expiration, named_payee = self._kind.check(message)
        now = self._clock.now()
        payee_id = headers.get("fspiop-destination") or named_payee
        if not valid_fsp_id(payee_id):
            raise FspiopError(
                ErrorCode.MISSING_ELEMENT, "FSPIOP-Destination or payee fspId is needed"
            )
        assert isinstance(payee_id, str)
        payee = self._participants.find(payee_id)
        quote = HubQuote(
            quote_id,
            payer.fsp_id,
            payee_id,
            body_digest(body),
            QuoteState.RECEIVED,
            expiration,
            now,
        )
        refusal: ErrorCode | None = None
        if payee is None or not payee.enabled or payee.endpoint(self._kind.endpoint) is None:
            refusal = ErrorCode.PAYEE_FSP_NOT_FOUND
        elif expiration is not None and expiration <= now:
            refusal = ErrorCode.QUOTE_EXPIRED
        if refusal is None:
            assert payee is not None
            forwarded = {**headers, "fspiop-destination": payee.fsp_id}
            note = self._messages.forward(
                payee,
                self._kind.endpoint,
                method="POST",
                headers=forwarded,
                body=body,
                suffix=f"/{self._kind.resource}",
            )
        else:
            quote = HubQuote(
                quote_id, payer.fsp_id, payee_id, quote.digest, QuoteState.REJECTED, expiration, now
            )
            note = self._error(payer, quote_id, refusal, now)
        existing = self._store.record_quote(quote)
        if existing is None:
            self._send(note)
        elif existing.payer != payer.fsp_id or existing.digest != quote.digest:
            self._send(self._error(payer, existing.quote_id, ErrorCode.MODIFIED_REQUEST, now))
        elif existing.response is not None:
            self._send(self._replay(payer, existing))
        elif existing.state is QuoteState.RECEIVED and refusal is None:
            self._send(note)  # still waiting: the payee may not have had it

    def _replay(self, to: Participant, quote: HubQuote) -> Callback | None:
        assert quote.response is not None
        error = quote.state is QuoteState.REJECTED
        suffix = f"/{self._kind.resource}/{quote.quote_id}" + ("/error" if error else "")
        return self._messages.forward(
            to,
            self._kind.endpoint,
            method="PUT",
            headers=quote.response_headers or {},
            body=quote.response,
            suffix=suffix,
        )

    def answer(
        self,
        payee: Participant,
        quote_id: str,
        *,
        message: dict[str, Any],
        headers: Mapping[str, str],
        body: bytes,
        error: bool,
    ) -> None:
        """PUT /quotes/{ID} (or /error) from the payee FSP: pass it to the payer FSP."""
        if error:
            info = message.get("errorInformation")
            if not isinstance(info, dict) or not isinstance(info.get("errorCode"), str):
                raise missing("errorInformation")
        else:
            self._kind.check_answer(message)
        now = self._clock.now()
        kept = {
            k: v for k, v in headers.items() if k.startswith(("fspiop-", "date", "content-type"))
        }
        payer_id = self._store.answer_quote(
            quote_id,
            payee=payee.fsp_id,
            state=QuoteState.REJECTED if error else QuoteState.ACCEPTED,
            response=body,
            headers=kept,
        )
        if payer_id is None:
            quote = self._store.get_quote(quote_id)
            if quote is None or quote.payee != payee.fsp_id:
                self._send(self._error(payee, quote_id, self._kind.not_found, now))
            return  # answered already: the first answer went to the payer
        suffix = f"/{self._kind.resource}/{quote_id}" + ("/error" if error else "")
        self._send(
            self._messages.forward(
                self._participants.get(payer_id),
                self._kind.endpoint,
                method="PUT",
                headers=headers,
                body=body,
                suffix=suffix,
            )
        )

    def query(self, source: Participant, quote_id: str, headers: Mapping[str, str]) -> None:
        """GET /quotes/{ID}: the stored answer again, or the question passed to the payee FSP."""
        now = self._clock.now()
        quote = self._store.get_quote(quote_id)
        if quote is None or source.fsp_id not in (quote.payer, quote.payee):
            self._send(self._error(source, quote_id, self._kind.not_found, now))
        elif quote.response is not None:
            self._send(self._replay(source, quote))
        else:
            payee = self._participants.find(quote.payee)
            if payee is None or source.fsp_id != quote.payer:
                self._send(self._error(source, quote_id, self._kind.not_found, now))
                return
            forwarded = {**headers, "fspiop-destination": payee.fsp_id}
            self._send(
                self._messages.forward(
                    payee,
                    self._kind.endpoint,
                    method="GET",
                    headers=forwarded,
                    body=b"",
                    suffix=f"/{self._kind.resource}/{quote_id}",
                )
            )
